//! Placeholder: the Atmarp profile is being written.

use std::sync::Arc;

use serde_json::Value;

use crate::{Column, ProfileError, ProfileOps};

/// The Atmarp profile.
#[derive(Debug, Clone)]
pub struct Atmarp {
    #[allow(dead_code)]
    layout: crate::AtmarpLayout,
}

impl Atmarp {
    /// The profile.
    #[allow(clippy::new_without_default)]
    pub fn new(layout: crate::AtmarpLayout) -> Self {
        Atmarp { layout }
    }
}

impl ProfileOps for Atmarp {
    fn name(&self) -> &'static str {
        "atmarp"
    }
    fn core(&self) -> Arc<dyn scsp_core::Profile> {
        Arc::new(scsp_core::Opaque)
    }
    fn decode(&self, _key: &[u8], _data: &[u8]) -> Result<Value, ProfileError> {
        Err(ProfileError::new("not implemented"))
    }
    fn columns(&self, _key: &[u8], _data: &[u8]) -> Result<Vec<Column>, ProfileError> {
        Err(ProfileError::new("not implemented"))
    }
    fn build(&self, _record: &Value, _origin: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ProfileError> {
        Err(ProfileError::new("not implemented"))
    }
    fn selects(&self, _selector: &Value, _key: &[u8], _data: &[u8]) -> bool {
        false
    }
    fn parse_add_args(&self, _args: &[String]) -> Result<Value, ProfileError> {
        Err(ProfileError::new("not implemented"))
    }
    fn parse_del_args(&self, _args: &[String]) -> Result<Value, ProfileError> {
        Err(ProfileError::new("not implemented"))
    }
    fn add_usage(&self) -> &'static str {
        ""
    }
    fn del_usage(&self) -> &'static str {
        ""
    }
}
