//! The `Auth` block of a DCS: SPIs, algorithm, and the key (inline or from a `KeyFile`).

use super::*;

impl Checker<'_> {
    pub(super) fn auth(&mut self, stmt: &Stmt, pos: Pos) -> Option<AuthConfig> {
        let (_, block) = self.block(stmt, "Auth", 0, "");
        let block = block?;
        let mut send: Slot<u32> = Slot::default();
        let mut recv: Slot<u32> = Slot::default();
        let mut algorithm: Slot<AuthAlgorithm> = Slot::default();
        let mut key: Slot<(Vec<u8>, Option<PathBuf>, Pos)> = Slot::default();
        for s in &self.split_missing_semicolons(&block.stmts, AUTH) {
            let Some((kw, kpos)) = self.keyword(s, AUTH, "in an Auth block") else {
                continue;
            };
            match kw {
                "SPI" | "SendSPI" | "RecvSPI" => {
                    let to_send = kw != "RecvSPI" && send.claim(kw, kpos, &mut self.d);
                    let to_recv = kw != "SendSPI" && recv.claim(kw, kpos, &mut self.d);
                    if !(to_send || to_recv) {
                        continue;
                    }
                    let spi = self
                        .value(s, kw, "an SPI")
                        .and_then(|t| self.number(t, 1, u32::MAX.into(), "invalid SPI"))
                        .and_then(|n| u32::try_from(n).ok());
                    if to_send {
                        send.value = spi;
                    }
                    if to_recv {
                        recv.value = spi;
                    }
                }
                "Algorithm" => {
                    if algorithm.claim(kw, kpos, &mut self.d) {
                        algorithm.value = self
                            .value(s, kw, "an algorithm")
                            .and_then(|t| self.algorithm(t));
                    }
                }
                "Key" => {
                    if key.claim(kw, kpos, &mut self.d) {
                        key.value = self
                            .value(s, kw, "a key")
                            .and_then(|t| self.key(t).map(|k| (k, None, t.pos)));
                    }
                }
                _ => {
                    if key.claim(kw, kpos, &mut self.d) {
                        key.value = self.value(s, kw, "a file name").and_then(|t| {
                            let path = PathBuf::from(self.nonempty(t, "key file name")?);
                            let k = self.key_file(t, &path)?;
                            Some((k, Some(path), t.pos))
                        });
                    }
                }
            }
        }
        if !send.given() {
            self.error(pos, "SendSPI (or SPI) missing in Auth block".to_owned());
        }
        if !recv.given() {
            self.error(pos, "RecvSPI (or SPI) missing in Auth block".to_owned());
        }
        if !key.given() {
            self.error(pos, "Key (or KeyFile) missing in Auth block".to_owned());
        }
        let algorithm = algorithm.value.unwrap_or(AuthAlgorithm::HmacMd5);
        let (key, key_file, key_pos) = key.value?;
        if key.len() < algorithm.mac_len() {
            self.warn(
                key_pos,
                format!(
                    "the key is {} bytes, shorter than the {} bytes RFC 2104 recommends for {}",
                    key.len(),
                    algorithm.mac_len(),
                    algorithm
                ),
            );
        }
        Some(AuthConfig {
            send_spi: send.value?,
            recv_spi: recv.value?,
            algorithm,
            key: Secret::new(key),
            key_file,
        })
    }

    pub(super) fn algorithm(&mut self, tok: &Token) -> Option<AuthAlgorithm> {
        let text = tok.text()?;
        let found = AuthAlgorithm::from_name(text);
        if found.is_none() {
            self.error(
                tok.pos,
                format!(
                    "invalid authentication algorithm \"{}\"; expected {}",
                    escape(text),
                    one_of(&[
                        AuthAlgorithm::HmacMd5.name(),
                        AuthAlgorithm::HmacSha256.name()
                    ])
                ),
            );
        }
        found
    }

    /// `Key 0x…` or `Key "…"`.
    pub(super) fn key(&mut self, tok: &Token) -> Option<Vec<u8>> {
        let result = match &tok.kind {
            Kind::Str(s) if s.is_empty() => Err("empty key".to_owned()),
            Kind::Str(s) => Ok(s.as_bytes().to_vec()),
            Kind::Word(w) if w.starts_with("0x") || w.starts_with("0X") => {
                parse_hex(w).map_err(|why| format!("invalid key: {why}"))
            }
            Kind::Word(_) => Err(
                "invalid key: write hex digits after 0x, or a string in double quotes".to_owned(),
            ),
            _ => return None,
        };
        result.map_err(|msg| self.error(tok.pos, msg)).ok()
    }

    /// Read a `KeyFile`: its contents without surrounding white space, hex if they start with
    /// `0x`, else the bytes themselves.
    pub(super) fn key_file(&mut self, tok: &Token, path: &Path) -> Option<Vec<u8>> {
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        };
        let shown = escape(&path.display().to_string());
        let bytes = match super::bounded::read_bounded(&full, super::MAX_FILE_LEN) {
            Ok(b) => b,
            Err(e) => {
                self.error(tok.pos, format!("can't read key file \"{shown}\": {e}"));
                return None;
            }
        };
        let trimmed = bytes.trim_ascii();
        let result = if trimmed.is_empty() {
            Err(format!("key file \"{shown}\" is empty"))
        } else if trimmed.starts_with(b"0x") || trimmed.starts_with(b"0X") {
            match std::str::from_utf8(trimmed) {
                Ok(text) => parse_hex(text)
                    .map_err(|why| format!("invalid key in key file \"{shown}\": {why}")),
                Err(_) => Err(format!(
                    "invalid key in key file \"{shown}\": not hex digits"
                )),
            }
        } else {
            Ok(trimmed.to_vec())
        };
        result.map_err(|msg| self.error(tok.pos, msg)).ok()
    }
}
