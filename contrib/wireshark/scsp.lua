-- scsp.lua: a Wireshark dissector for SCSP, the Server Cache Synchronization Protocol
-- (RFC 2334), over UDP as this project carries it (default port 7126; other ports through
-- Decode As or the "UDP port" preference).
--
-- Decodes the fixed part (B.1, with the checksum verified), the mandatory common part (B.2.0.1),
-- every message type (CA, CSU Request, CSU Reply, CSUS, Hello) with its CSAS and CSA records,
-- the extensions (End, Authentication B.3.1, Vendor-Private B.3.2, and this project's
-- reconciliation messages carried in Vendor-Private, docs/reconciliation.md section 5), and the
-- client/server protocol specific part of CSA records by Protocol ID: ATMARP (1; HARP layout and
-- draft-ietf-ion-scsp-atmarp-00/-01), NHRP (2, RFC 2335), MARS (3, RFC 2443), and any other
-- Protocol ID as bytes (with the generic profile's lifetime prefix).
--
-- Lengths are checked before every read: a length that runs past the packet or a record
-- shorter than its header gives expert info, never a Lua error. See README.md beside this file.
--
-- (One file of about 1,100 lines: a Lua plugin is installed by copying one file into
-- Wireshark's plugin folder.)
--
-- SPDX-License-Identifier: BSD-2-Clause

local scsp = Proto("scsp", "Server Cache Synchronization Protocol")

local DEFAULT_PORT = 7126
local RECON_VENDOR_ID = 0x5C5350

----------------------------------------------------------------------------------------------
-- Value strings

local msg_types = { [1] = "CA", [2] = "CSU Request", [3] = "CSU Reply", [4] = "CSUS", [5] = "Hello" }
local protocol_ids = { [1] = "ATMARP", [2] = "NHRP", [3] = "MARS", [4] = "DHCP", [5] = "LNNI" }
local ext_types = { [0] = "End Of Extensions", [1] = "Authentication", [2] = "Vendor-Private" }
local checksum_status = { [0] = "Bad", [1] = "Good", [2] = "Unverified" }
local atmarp_states = { [0] = "new", [1] = "updated", [2] = "deleted" }
local nhrp_afn = {
    [1] = "IPv4", [2] = "IPv6", [3] = "NSAP", [8] = "E.164",
    [15] = "E.164 with NSAP subaddress (ATM)",
}
local ethertypes = { [0x0800] = "IPv4", [0x86dd] = "IPv6" }
local nhrp_states = { [0] = "registered", [1] = "re-registered", [2] = "purged", [3] = "no such client" }
local mars_states = {
    [1] = "server redirect", [2] = "MCS serve/register", [3] = "client join/register",
    [4] = "client leave/deregister", [5] = "MCS unserve/deregister",
}
local recon_kinds = {
    [0] = "Capability", [1] = "Cells", [2] = "Request", [3] = "Result", [4] = "Bulk", [5] = "Bulk Ack",
}
local recon_status = { [0] = "decoded", [1] = "budget spent", [2] = "too many differences", [3] = "error" }

----------------------------------------------------------------------------------------------
-- Fields

local f = {}
-- B.1 fixed part
f.version = ProtoField.uint8("scsp.version", "Version", base.DEC)
f.type = ProtoField.uint8("scsp.type", "Type Code", base.DEC, msg_types)
f.size = ProtoField.uint16("scsp.size", "Packet Size", base.DEC)
f.checksum = ProtoField.uint16("scsp.checksum", "Checksum", base.HEX)
f.checksum_status = ProtoField.uint8("scsp.checksum.status", "Checksum Status", base.DEC, checksum_status)
f.checksum_expected = ProtoField.uint16("scsp.checksum.expected", "Expected Checksum", base.HEX)
f.soe = ProtoField.uint16("scsp.soe", "Start Of Extensions", base.DEC)
-- B.2.1 CA, B.2.5 Hello: the fields before the mandatory common part
f.ca_seq = ProtoField.uint32("scsp.ca.seq", "CA Sequence Number", base.HEX_DEC)
f.hello_interval = ProtoField.uint16("scsp.hello.interval", "HelloInterval", base.DEC)
f.hello_dead = ProtoField.uint16("scsp.hello.dead_factor", "DeadFactor", base.DEC)
f.hello_unused = ProtoField.uint16("scsp.hello.unused", "Unused", base.HEX)
f.hello_family = ProtoField.uint16("scsp.hello.family_id", "Family ID", base.HEX_DEC)
-- B.2.0.1 mandatory common part
f.protocol_id = ProtoField.uint16("scsp.protocol_id", "Protocol ID", base.DEC, protocol_ids)
f.sgid = ProtoField.uint16("scsp.sgid", "Server Group ID", base.DEC)
f.unused = ProtoField.uint16("scsp.unused", "Unused", base.HEX)
f.flags = ProtoField.uint16("scsp.flags", "Flags", base.HEX)
f.ca_m = ProtoField.bool("scsp.ca.flags.m", "M (Master/Slave)", 16, nil, 0x8000)
f.ca_i = ProtoField.bool("scsp.ca.flags.i", "I (Initialization)", 16, nil, 0x4000)
f.ca_o = ProtoField.bool("scsp.ca.flags.o", "O (mOre)", 16, nil, 0x2000)
f.ca_flags_unused = ProtoField.uint16("scsp.ca.flags.unused", "Unused", base.HEX, nil, 0x1fff)
f.sender_len = ProtoField.uint8("scsp.sender_id_len", "Sender ID Len", base.DEC)
f.receiver_len = ProtoField.uint8("scsp.receiver_id_len", "Recvr ID Len", base.DEC)
f.count = ProtoField.uint16("scsp.records", "Number of Records", base.DEC)
f.sender = ProtoField.bytes("scsp.sender_id", "Sender ID")
f.receiver = ProtoField.bytes("scsp.receiver_id", "Receiver ID")
-- B.2.0.2 CSAS record, B.2.2.1 CSA record
f.csas_hops = ProtoField.uint16("scsp.csas.hops", "Hop Count", base.DEC)
f.csas_len = ProtoField.uint16("scsp.csas.length", "Record Length", base.DEC)
f.csas_key_len = ProtoField.uint8("scsp.csas.key_len", "Cache Key Len", base.DEC)
f.csas_orig_len = ProtoField.uint8("scsp.csas.orig_len", "Orig ID Len", base.DEC)
f.csas_flags = ProtoField.uint16("scsp.csas.flags", "Flags", base.HEX)
f.csas_null = ProtoField.bool("scsp.csas.null", "N (Null record)", 16, nil, 0x8000)
f.csas_unused = ProtoField.uint16("scsp.csas.unused", "Unused", base.HEX, nil, 0x7fff)
f.csas_seq = ProtoField.uint32("scsp.csas.seq", "CSA Sequence Number", base.HEX)
f.csas_key = ProtoField.bytes("scsp.csas.key", "Cache Key")
f.csas_orig = ProtoField.bytes("scsp.csas.originator", "Originator ID")
f.csa_data = ProtoField.bytes("scsp.csa.data", "Client/Server Protocol Specific Part")
-- B.2.5 Additional Receiver ID records
f.rec_id_len = ProtoField.uint8("scsp.hello.rec_id_len", "Rec ID Len", base.DEC)
f.rec_id = ProtoField.bytes("scsp.hello.receiver_id", "Additional Receiver ID")
-- B.3 extensions
f.ext_type = ProtoField.uint16("scsp.ext.type", "Type", base.DEC, ext_types)
f.ext_len = ProtoField.uint16("scsp.ext.length", "Length", base.DEC)
f.ext_value = ProtoField.bytes("scsp.ext.value", "Value")
f.auth_spi = ProtoField.uint32("scsp.auth.spi", "Security Parameter Index (SPI)", base.DEC_HEX)
f.auth_data = ProtoField.bytes("scsp.auth.data", "Authentication Data")
f.auth_algorithm = ProtoField.string("scsp.auth.algorithm", "Algorithm (from the MAC length)")
f.vp_vendor = ProtoField.uint24("scsp.vp.vendor_id", "Vendor ID", base.HEX)
f.vp_data = ProtoField.bytes("scsp.vp.data", "Data")
-- docs/reconciliation.md section 5.2: the reconciliation messages
f.rc_version = ProtoField.uint8("scsp.recon.version", "Version", base.DEC)
f.rc_kind = ProtoField.uint8("scsp.recon.kind", "Kind", base.DEC, recon_kinds)
f.rc_flags = ProtoField.uint8("scsp.recon.flags", "Flags", base.HEX)
f.rc_flag_reconcile = ProtoField.bool("scsp.recon.flags.reconcile", "Reconciliation", 8, nil, 0x01)
f.rc_flag_bulk = ProtoField.bool("scsp.recon.flags.bulk", "Bulk path", 8, nil, 0x02)
f.rc_flag_whole = ProtoField.bool("scsp.recon.flags.whole", "Whole (every position carried its record)", 8, nil, 0x01)
f.rc_flag_clean = ProtoField.bool("scsp.recon.flags.clean", "Clean (the learner held nothing and stored every record)", 8, nil, 0x01)
f.rc_reserved = ProtoField.bytes("scsp.recon.reserved", "Reserved")
f.rc_m = ProtoField.uint32("scsp.recon.cells_kept", "M (cells kept under this key)", base.DEC)
f.rc_key = ProtoField.bytes("scsp.recon.key", "Key")
f.rc_start = ProtoField.uint32("scsp.recon.start", "Start (index of the first cell)", base.DEC)
f.rc_n = ProtoField.uint16("scsp.recon.n", "n", base.DEC)
f.rc_cell_sum = ProtoField.uint64("scsp.recon.cell.sum", "Sum", base.HEX)
f.rc_cell_checksum = ProtoField.uint64("scsp.recon.cell.checksum", "Checksum", base.HEX)
f.rc_cell_count = ProtoField.int32("scsp.recon.cell.count", "Count", base.DEC)
f.rc_next = ProtoField.uint32("scsp.recon.next", "Next", base.DEC)
f.rc_window = ProtoField.uint32("scsp.recon.window", "Window", base.DEC)
f.rc_status = ProtoField.uint8("scsp.recon.status", "Status", base.DEC, recon_status)
f.rc_offset = ProtoField.uint32("scsp.recon.offset", "Offset", base.DEC)
f.rc_total = ProtoField.uint32("scsp.recon.total", "Total", base.DEC)
f.rc_symbol = ProtoField.uint64("scsp.recon.symbol", "Symbol", base.HEX)
f.rc_count = ProtoField.uint16("scsp.recon.count", "Count (CSA records)", base.DEC)
f.rc_credit = ProtoField.uint32("scsp.recon.credit", "Credit", base.DEC)
-- Type/length octets (RFC 2225 8.7.3, RFC 2332 5.2.0)
f.tl_reserved = ProtoField.uint8("scsp.tl.reserved", "Reserved", base.HEX, nil, 0x80)
f.tl_e164 = ProtoField.bool("scsp.tl.e164", "E.164 format", 8, nil, 0x40)
f.tl_length = ProtoField.uint8("scsp.tl.length", "Length", base.DEC, nil, 0x3f)

-- An address field in three forms, so that IPv4 and IPv6 addresses filter as such.
local function addr_field(abbr, name)
    return {
        v4 = ProtoField.ipv4(abbr, name),
        v6 = ProtoField.ipv6(abbr .. "_v6", name),
        raw = ProtoField.bytes(abbr .. "_bytes", name),
    }
end

-- ATMARP (Protocol ID 1)
f.atmarp_hrd = ProtoField.uint16("scsp.atmarp.hrd", "Hardware Type", base.HEX, { [0x13] = "ATM Forum" })
f.atmarp_pro = ProtoField.uint16("scsp.atmarp.pro", "Protocol Type", base.HEX, ethertypes)
f.atmarp_src_atm_tl = ProtoField.uint8("scsp.atmarp.src_atm_tl", "Source ATM Address Type/Length", base.HEX)
f.atmarp_src_sub_tl = ProtoField.uint8("scsp.atmarp.src_sub_tl", "Source ATM Subaddress Type/Length", base.HEX)
f.atmarp_state = ProtoField.uint8("scsp.atmarp.state", "State", base.DEC, atmarp_states)
f.atmarp_lifetime = ProtoField.uint8("scsp.atmarp.lifetime", "Lifetime (minutes, 0 = delete)", base.DEC)
f.atmarp_state_or_lifetime = ProtoField.uint8("scsp.atmarp.state_or_lifetime",
    "State (draft-00) or Lifetime in minutes (draft-01)", base.DEC)
f.atmarp_unused = ProtoField.uint8("scsp.atmarp.unused", "Unused", base.HEX)
f.atmarp_src_ip_len = ProtoField.uint8("scsp.atmarp.src_ip_len", "Source IP Length", base.DEC)
f.atmarp_tgt_atm_tl = ProtoField.uint8("scsp.atmarp.tgt_atm_tl", "Target ATM Address Type/Length", base.HEX)
f.atmarp_tgt_sub_tl = ProtoField.uint8("scsp.atmarp.tgt_sub_tl", "Target ATM Subaddress Type/Length", base.HEX)
f.atmarp_tgt_ip_len = ProtoField.uint8("scsp.atmarp.tgt_ip_len", "Target IP Length", base.DEC)
f.atmarp_src_atm = ProtoField.bytes("scsp.atmarp.src_atm", "Source ATM Address")
f.atmarp_src_sub = ProtoField.bytes("scsp.atmarp.src_subaddr", "Source ATM Subaddress")
f.atmarp_tgt_atm = ProtoField.bytes("scsp.atmarp.tgt_atm", "Target ATM Address")
f.atmarp_tgt_sub = ProtoField.bytes("scsp.atmarp.tgt_subaddr", "Target ATM Subaddress")
local atmarp_src_ip = addr_field("scsp.atmarp.src_ip", "Source IP Address")
local atmarp_tgt_ip = addr_field("scsp.atmarp.tgt_ip", "Target IP Address")
-- NHRP (Protocol ID 2, RFC 2335)
f.nhrp_afn = ProtoField.uint16("scsp.nhrp.afn", "Address Family Number", base.DEC, nhrp_afn)
f.nhrp_pro = ProtoField.uint16("scsp.nhrp.protocol_type", "Protocol Type", base.HEX, ethertypes)
f.nhrp_snap = ProtoField.bytes("scsp.nhrp.snap", "Protocol SNAP")
f.nhrp_version = ProtoField.uint8("scsp.nhrp.version", "NHRP Version", base.DEC)
f.nhrp_flags = ProtoField.uint16("scsp.nhrp.flags", "Flags", base.HEX)
f.nhrp_flag_u = ProtoField.bool("scsp.nhrp.flags.u", "U (Uniqueness)", 16, nil, 0x8000)
f.nhrp_flag_a = ProtoField.bool("scsp.nhrp.flags.a", "A (from ATMARP client interaction)", 16, nil, 0x4000)
f.nhrp_flags_unused = ProtoField.uint16("scsp.nhrp.flags.unused", "Unused", base.HEX, nil, 0x3fff)
f.nhrp_request_id = ProtoField.uint32("scsp.nhrp.request_id", "Request ID", base.DEC)
f.nhrp_state = ProtoField.uint8("scsp.nhrp.state", "State", base.DEC, nhrp_states)
f.nhrp_prefix = ProtoField.uint8("scsp.nhrp.prefix_length", "Prefix Length", base.DEC)
f.nhrp_unused = ProtoField.uint16("scsp.nhrp.unused", "Unused", base.HEX)
f.nhrp_mtu = ProtoField.uint16("scsp.nhrp.mtu", "Maximum Transmission Unit", base.DEC)
f.nhrp_holding = ProtoField.uint16("scsp.nhrp.holding_time", "Holding Time (s)", base.DEC)
f.nhrp_addr_tl = ProtoField.uint8("scsp.nhrp.cli_addr_tl", "Cli Addr T/L", base.HEX)
f.nhrp_saddr_tl = ProtoField.uint8("scsp.nhrp.cli_saddr_tl", "Cli SAddr T/L", base.HEX)
f.nhrp_proto_len = ProtoField.uint8("scsp.nhrp.cli_proto_len", "Cli Proto Len", base.DEC)
f.nhrp_preference = ProtoField.uint8("scsp.nhrp.preference", "Preference", base.DEC)
local nhrp_nbma = addr_field("scsp.nhrp.nbma_addr", "Client NBMA Address")
f.nhrp_nbma_sub = ProtoField.bytes("scsp.nhrp.nbma_subaddr", "Client NBMA Subaddress")
local nhrp_proto = addr_field("scsp.nhrp.proto_addr", "Client Protocol Address")
-- MARS (Protocol ID 3, RFC 2443)
f.mars_hrd = ProtoField.uint16("scsp.mars.hrd", "Hardware Type", base.DEC, { [15] = "ATM" })
f.mars_pro = ProtoField.uint16("scsp.mars.protocol_type", "Protocol Type", base.HEX, ethertypes)
f.mars_snap = ProtoField.bytes("scsp.mars.snap", "Protocol SNAP")
f.mars_unused = ProtoField.uint8("scsp.mars.unused", "Unused", base.HEX)
f.mars_version = ProtoField.uint8("scsp.mars.version", "Version", base.DEC)
f.mars_state = ProtoField.uint8("scsp.mars.state", "State", base.DEC, mars_states)
f.mars_flags = ProtoField.uint16("scsp.mars.flags", "Flags", base.HEX)
f.mars_flag_layer3grp = ProtoField.bool("scsp.mars.flags.layer3grp", "layer3grp", 16, nil, 0x8000)
f.mars_flag_register = ProtoField.bool("scsp.mars.flags.register", "register", 16, nil, 0x2000)
f.mars_flags_reserved = ProtoField.uint16("scsp.mars.flags.reserved", "Reserved", base.HEX, nil, 0x5f00)
f.mars_flag_sequence = ProtoField.uint16("scsp.mars.flags.sequence", "Sequence", base.DEC, nil, 0x00ff)
f.mars_cmi = ProtoField.uint16("scsp.mars.cmi", "Cluster Member ID", base.DEC)
f.mars_src_len = ProtoField.uint8("scsp.mars.src_addr_len", "Src Addr Len", base.DEC)
f.mars_grp_len = ProtoField.uint8("scsp.mars.grp_addr_len", "Group Addr Len", base.DEC)
f.mars_atm_tl = ProtoField.uint8("scsp.mars.atm_tl", "ATM Addr T/L", base.HEX)
f.mars_sub_tl = ProtoField.uint8("scsp.mars.atm_sub_tl", "ATM SubAddr T/L", base.HEX)
local mars_src = addr_field("scsp.mars.src_proto_addr", "Source Protocol Address")
f.mars_src_atm = ProtoField.bytes("scsp.mars.src_atm", "Source ATM Address")
f.mars_src_sub = ProtoField.bytes("scsp.mars.src_atm_sub", "Source ATM SubAddress")
local mars_gmin = addr_field("scsp.mars.group_min", "Minimum Multicast Group Address")
local mars_gmax = addr_field("scsp.mars.group_max", "Maximum Multicast Group Address")
-- Generic records (any other Protocol ID; docs/profiles.md "Generic records")
f.gen_magic = ProtoField.bytes("scsp.generic.prefix", "Lifetime Prefix")
f.gen_lifetime = ProtoField.uint32("scsp.generic.lifetime", "Lifetime (s, 0 = none)", base.DEC)
f.gen_payload = ProtoField.bytes("scsp.generic.payload", "Payload")

local fields = {}
for _, v in pairs(f) do fields[#fields + 1] = v end
for _, a in ipairs({ atmarp_src_ip, atmarp_tgt_ip, nhrp_nbma, nhrp_proto, mars_src, mars_gmin, mars_gmax }) do
    fields[#fields + 1] = a.v4
    fields[#fields + 1] = a.v6
    fields[#fields + 1] = a.raw
end
scsp.fields = fields

----------------------------------------------------------------------------------------------
-- Expert info

local e = {
    checksum_bad = ProtoExpert.new("scsp.checksum.bad", "Bad checksum",
        expert.group.CHECKSUM, expert.severity.ERROR),
    length_overrun = ProtoExpert.new("scsp.length.overrun", "Length runs past the packet",
        expert.group.MALFORMED, expert.severity.ERROR),
    length_short = ProtoExpert.new("scsp.length.short", "Shorter than its header",
        expert.group.MALFORMED, expert.severity.ERROR),
    malformed = ProtoExpert.new("scsp.malformed", "Malformed SCSP packet",
        expert.group.MALFORMED, expert.severity.ERROR),
    unknown = ProtoExpert.new("scsp.unknown", "Unknown value",
        expert.group.UNDECODED, expert.severity.WARN),
    record = ProtoExpert.new("scsp.record.malformed", "Malformed client/server protocol specific part",
        expert.group.MALFORMED, expert.severity.WARN),
    recon = ProtoExpert.new("scsp.recon.malformed", "Malformed reconciliation message",
        expert.group.MALFORMED, expert.severity.WARN),
    bug = ProtoExpert.new("scsp.dissector_error", "Dissector error",
        expert.group.MALFORMED, expert.severity.ERROR),
}
scsp.experts = { e.checksum_bad, e.length_overrun, e.length_short, e.malformed, e.unknown, e.record,
    e.recon, e.bug }

----------------------------------------------------------------------------------------------
-- Preferences

local LAYOUT_AUTO, LAYOUT_HARP, LAYOUT_D00, LAYOUT_D01 = 0, 1, 2, 3
scsp.prefs.udp_port = Pref.uint("UDP port", DEFAULT_PORT, "UDP port of SCSP (this project's default: 7126)")
scsp.prefs.atmarp_layout = Pref.enum("ATMARP layout", LAYOUT_AUTO,
    "Layout of ATMARP CSA records (scspd.conf ATMARPFormat); auto: harp when its lengths add up, else the drafts'",
    {
        { 1, "auto", LAYOUT_AUTO },
        { 2, "harp", LAYOUT_HARP },
        { 3, "draft-00", LAYOUT_D00 },
        { 4, "draft-01", LAYOUT_D01 },
    }, false)
scsp.prefs.recon_vendor_id = Pref.uint("Reconciliation Vendor ID", RECON_VENDOR_ID,
    "Vendor ID of the Vendor-Private extension carrying reconciliation messages (default 0x5C5350)")

----------------------------------------------------------------------------------------------
-- Helpers

local function hex(tvb, off, len)
    if len <= 0 then return "" end
    local s = tvb:raw(off, len)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- An ID as scspd prints it: four octets as a dotted quad, otherwise hex; "-" when empty.
local function fmt_id(tvb, off, len)
    if len == 0 then return "-" end
    if len == 4 then
        local a, b, c, d = tvb:raw(off, 4):byte(1, 4)
        return string.format("%d.%d.%d.%d", a, b, c, d)
    end
    return hex(tvb, off, len)
end

-- An ATM/NBMA address: an NSAP in the grouping AFI.IDI.DFI.AA.RSVD.RD.AREA.ESI.SEL, E.164 as its
-- digits, anything else as 0x + hex.
local NSAP_GROUPS = { 1, 2, 1, 3, 2, 2, 2, 6, 1 }
local function fmt_atm(tvb, off, len, e164)
    if len == 0 then return "(none)" end
    if e164 then
        local s = tvb:raw(off, len)
        if s:match("^%d+$") then return s end
        return "0x" .. hex(tvb, off, len)
    end
    if len == 20 then
        local parts, o = {}, off
        for _, n in ipairs(NSAP_GROUPS) do
            parts[#parts + 1] = hex(tvb, o, n)
            o = o + n
        end
        return table.concat(parts, ".")
    end
    return "0x" .. hex(tvb, off, len)
end

local function signed32(v)
    if v >= 0x80000000 then return v - 0x100000000 end
    return v
end

local function seq_note(v)
    if v == 0x80000000 then return " (reserved, -2^31)" end
    if v == 0x80000001 then return " (first, -2^31+1)" end
    if v == 0x7fffffff then return " (purge, 2^31-1)" end
    return string.format(" (%d)", signed32(v))
end

-- The one's complement sum of the bytes as big-endian words (B.1: an odd last byte is the high
-- octet of a word whose low octet is 0), folded to 16 bits. skip: offset of two bytes left out.
local function ones_sum(s, skip)
    local sum, n = 0, #s
    local i = 1
    while i <= n do
        if i - 1 ~= skip then
            local hi = s:byte(i)
            local lo = (i + 1 <= n) and s:byte(i + 1) or 0
            sum = sum + hi * 256 + lo
        end
        i = i + 2
    end
    while sum > 0xffff do
        sum = (sum % 0x10000) + math.floor(sum / 0x10000)
    end
    return sum
end

-- A type/length octet with its three parts.
local function add_tl(tree, field, tvb, off)
    local item = tree:add(field, tvb(off, 1))
    item:add(f.tl_reserved, tvb(off, 1))
    item:add(f.tl_e164, tvb(off, 1))
    item:add(f.tl_length, tvb(off, 1))
    local b = tvb(off, 1):uint()
    return item, b % 64, math.floor(b / 64) % 2 == 1, b >= 128
end

-- A reader over [off, stop) of a tvb that adds expert info instead of reading past stop.
local Cursor = {}
Cursor.__index = Cursor

local function cursor(tvb, off, stop, tree, expert_field)
    return setmetatable({ tvb = tvb, off = off, stop = stop, tree = tree, ex = expert_field, ok = true }, Cursor)
end

-- Room for n more octets? Otherwise expert info naming the field, and the cursor stops.
function Cursor:need(n, what)
    if not self.ok then return false end
    if self.off + n > self.stop then
        self.tree:add_proto_expert_info(e.length_overrun, string.format(
            "%s needs %d octets at offset %d: only %d left", what, n, self.off, self.stop - self.off))
        self.ok = false
        return false
    end
    return true
end

-- Add a fixed-size field; returns its value (uint) or nil when it does not fit.
function Cursor:add(field, n, what, tree)
    if not self:need(n, what) then return nil end
    local r = self.tvb(self.off, n)
    local item = (tree or self.tree):add(field, r)
    self.off = self.off + n
    if n <= 4 then return r:uint(), item end
    return nil, item
end

-- Add a variable-length address (n octets, possibly 0) with a formatted text.
function Cursor:addr(field, n, what, text, tree)
    if not self:need(n, what) then return nil end
    local t = tree or self.tree
    local item
    if n == 0 then
        item = t:add(self.tvb(self.off, 0), string.format("%s: (none)", what))
    else
        item = t:add(field, self.tvb(self.off, n))
        if text then item:append_text(" (" .. text .. ")") end
    end
    self.off = self.off + n
    return item
end

-- A type/length octet (RFC 2225 8.7.3, RFC 2332 5.2.0): { n = length, e164 = E.164 bit }, or
-- nil when it does not fit; a reserved bit set is expert info.
function Cursor:tl(field, what)
    if not self:need(1, what) then return nil end
    local _, n, e164, reserved = add_tl(self.tree, field, self.tvb, self.off)
    if reserved then self.tree:add_proto_expert_info(self.ex, what .. ": reserved bit 0x80 set") end
    self.off = self.off + 1
    return { n = n, e164 = e164 }
end

-- A protocol address: IPv4 and IPv6 in typed fields, anything else as bytes.
function Cursor:proto_addr(af, n, what, tree)
    if not self:need(n, what) then return nil end
    local t = tree or self.tree
    local item
    if n == 0 then
        item = t:add(self.tvb(self.off, 0), string.format("%s: (none)", what))
    elseif n == 4 then
        item = t:add(af.v4, self.tvb(self.off, 4))
    elseif n == 16 then
        item = t:add(af.v6, self.tvb(self.off, 16))
    else
        item = t:add(af.raw, self.tvb(self.off, n))
    end
    self.off = self.off + n
    return item
end

-- Octets left after the last field: expert info.
function Cursor:finish(what)
    if self.ok and self.off < self.stop then
        self.tree:add_proto_expert_info(self.ex, string.format(
            "%d octets after the %s", self.stop - self.off, what))
    end
end

----------------------------------------------------------------------------------------------
-- Client/server protocol specific parts

local function dissect_atmarp(tvb, off, len, tree)
    local layout = scsp.prefs.atmarp_layout
    local function tl(o) return tvb(o, 1):uint() % 64 end
    local function harp_fits()
        if len < 12 then return false end
        local total = 12 + tl(off + 4) + tl(off + 5) + tvb(off + 8, 1):uint() + tl(off + 9) + tl(off + 10)
            + tvb(off + 11, 1):uint()
        return total == len
    end
    local function draft_fits()
        if len < 8 then return false end
        return 8 + tl(off + 5) + tl(off + 6) + tvb(off + 7, 1):uint() == len
    end
    if layout == LAYOUT_AUTO then
        if harp_fits() then
            layout = LAYOUT_HARP
        elseif draft_fits() then
            layout = -1 -- a draft layout; draft-00 and draft-01 differ only in octet 4's meaning
        else
            layout = LAYOUT_HARP
        end
    end
    local names = { [LAYOUT_HARP] = "HARP layout", [LAYOUT_D00] = "draft-00 layout",
        [LAYOUT_D01] = "draft-01 layout", [-1] = "draft-00/-01 layout" }
    local t = tree:add(scsp, tvb(off, len), "ATMARP record (" .. names[layout] .. ")")
    local c = cursor(tvb, off, off + len, t, e.record)
    local hrd = c:add(f.atmarp_hrd, 2, "Hardware Type")
    local pro = c:add(f.atmarp_pro, 2, "Protocol Type")
    if hrd and hrd ~= 0x0013 then t:add_proto_expert_info(e.unknown, string.format("hardware type 0x%04x, not ATM Forum (0x0013)", hrd)) end
    if pro and pro ~= 0x0800 then t:add_proto_expert_info(e.unknown, string.format("protocol type 0x%04x, not IPv4", pro)) end
    local atm = {}
    local summary
    if layout == LAYOUT_HARP then
        local src = c:tl(f.atmarp_src_atm_tl, "Source ATM Address Type/Length")
        local sub = c:tl(f.atmarp_src_sub_tl, "Source ATM Subaddress Type/Length")
        local state = c:add(f.atmarp_state, 1, "State")
        c:add(f.atmarp_unused, 1, "Unused")
        local spa = c:add(f.atmarp_src_ip_len, 1, "Source IP Length")
        local tgt = c:tl(f.atmarp_tgt_atm_tl, "Target ATM Address Type/Length")
        local tsub = c:tl(f.atmarp_tgt_sub_tl, "Target ATM Subaddress Type/Length")
        local tpa = c:add(f.atmarp_tgt_ip_len, 1, "Target IP Length")
        if not c.ok then return end
        if state and state > 2 then t:add_proto_expert_info(e.record, string.format("state %d: 0 new, 1 updated, 2 deleted", state)) end
        local atm_text = nil
        if c:need(src.n, "Source ATM Address") then
            atm_text = fmt_atm(tvb, c.off, src.n, src.e164)
        end
        c:addr(f.atmarp_src_atm, src.n, "Source ATM Address", atm_text)
        if c.ok then c:addr(f.atmarp_src_sub, sub.n, "Source ATM Subaddress", fmt_atm(tvb, c.off, math.min(sub.n, c.stop - c.off), sub.e164)) end
        local ip_off = c.off
        c:proto_addr(atmarp_src_ip, spa, "Source IP Address")
        if c.ok then c:addr(f.atmarp_tgt_atm, tgt.n, "Target ATM Address", fmt_atm(tvb, c.off, math.min(tgt.n, c.stop - c.off), tgt.e164)) end
        if c.ok then c:addr(f.atmarp_tgt_sub, tsub.n, "Target ATM Subaddress", fmt_atm(tvb, c.off, math.min(tsub.n, c.stop - c.off), tsub.e164)) end
        c:proto_addr(atmarp_tgt_ip, tpa, "Target IP Address")
        c:finish("target IP address")
        if c.ok and spa == 4 then
            summary = string.format("%s -> %s, %s", fmt_id(tvb, ip_off, 4), atm_text or "?",
                atmarp_states[state] or tostring(state))
        end
    else
        local b4
        if layout == LAYOUT_D00 then
            b4 = c:add(f.atmarp_state, 1, "State")
            if b4 and b4 > 2 then t:add_proto_expert_info(e.record, string.format("state %d: 0 new, 1 updated (2 deleted, as HARP)", b4)) end
        elseif layout == LAYOUT_D01 then
            b4 = c:add(f.atmarp_lifetime, 1, "Lifetime")
        else
            b4 = c:add(f.atmarp_state_or_lifetime, 1, "State/Lifetime")
        end
        local src = c:tl(f.atmarp_src_atm_tl, "ATM Address Type/Length")
        local sub = c:tl(f.atmarp_src_sub_tl, "ATM Subaddress Type/Length")
        local spa = c:add(f.atmarp_src_ip_len, 1, "Protocol Address Length")
        if not c.ok then return end
        local atm_text = nil
        if c:need(src.n, "ATM Address") then atm_text = fmt_atm(tvb, c.off, src.n, src.e164) end
        c:addr(f.atmarp_src_atm, src.n, "ATM Address", atm_text)
        if c.ok then c:addr(f.atmarp_src_sub, sub.n, "ATM Subaddress", fmt_atm(tvb, c.off, math.min(sub.n, c.stop - c.off), sub.e164)) end
        local ip_off = c.off
        c:proto_addr(atmarp_src_ip, spa, "Protocol Address")
        c:finish("protocol address")
        if c.ok and spa == 4 then
            summary = string.format("%s -> %s", fmt_id(tvb, ip_off, 4), atm_text or "?")
        end
    end
    if summary then t:append_text(": " .. summary) end
end

local function dissect_nhrp(tvb, off, len, tree)
    local t = tree:add(scsp, tvb(off, len), "NHRP record (RFC 2335)")
    local c = cursor(tvb, off, off + len, t, e.record)
    local afn = c:add(f.nhrp_afn, 2, "Address Family Number")
    local pro = c:add(f.nhrp_pro, 2, "Protocol Type")
    c:add(f.nhrp_snap, 5, "Protocol SNAP")
    local version = c:add(f.nhrp_version, 1, "NHRP Version")
    if version and version ~= 1 then t:add_proto_expert_info(e.record, string.format("version %d: RFC 2335 records are NHRP version 1", version)) end
    if c:need(2, "Flags") then
        local fl = t:add(f.nhrp_flags, tvb(c.off, 2))
        fl:add(f.nhrp_flag_u, tvb(c.off, 2))
        fl:add(f.nhrp_flag_a, tvb(c.off, 2))
        fl:add(f.nhrp_flags_unused, tvb(c.off, 2))
        c.off = c.off + 2
    end
    local rid = c:add(f.nhrp_request_id, 4, "Request ID")
    local state = c:add(f.nhrp_state, 1, "State")
    if state and state > 3 then t:add_proto_expert_info(e.record, string.format("state %d: states are 0 to 3", state)) end
    c:add(f.nhrp_prefix, 1, "Prefix Length")
    c:add(f.nhrp_unused, 2, "Unused")
    c:add(f.nhrp_mtu, 2, "Maximum Transmission Unit")
    local holding = c:add(f.nhrp_holding, 2, "Holding Time")
    local atl = c:tl(f.nhrp_addr_tl, "Cli Addr T/L")
    local stl = c:tl(f.nhrp_saddr_tl, "Cli SAddr T/L")
    local plen = c:add(f.nhrp_proto_len, 1, "Cli Proto Len")
    c:add(f.nhrp_preference, 1, "Preference")
    if not c.ok then return end
    -- The NBMA address: IP addresses for NHRP over IP (AFN 1, 2), else ATM/E.164 forms.
    local nbma_text
    if (afn == 1 and atl.n == 4) or (afn == 2 and atl.n == 16) then
        c:proto_addr(nhrp_nbma, atl.n, "Client NBMA Address")
    else
        if c:need(atl.n, "Client NBMA Address") then nbma_text = fmt_atm(tvb, c.off, atl.n, atl.e164) end
        c:addr(nhrp_nbma.raw, atl.n, "Client NBMA Address", nbma_text)
    end
    if c.ok then c:addr(f.nhrp_nbma_sub, stl.n, "Client NBMA Subaddress", fmt_atm(tvb, c.off, math.min(stl.n, c.stop - c.off), stl.e164)) end
    local p_off = c.off
    c:proto_addr(nhrp_proto, plen, "Client Protocol Address")
    c:finish("client protocol address")
    if c.ok then
        local addr = (plen == 4) and fmt_id(tvb, p_off, 4) or hex(tvb, p_off, plen)
        t:append_text(string.format(": %s, %s, holding %ds, request id %d", addr,
            nhrp_states[state] or tostring(state), holding, rid))
    end
    if pro == 0x0800 and plen ~= 4 and plen ~= 0 then
        t:add_proto_expert_info(e.unknown, string.format("IPv4 protocol type with a %d-octet protocol address", plen))
    end
end

local function dissect_mars(tvb, off, len, tree)
    local t = tree:add(scsp, tvb(off, len), "MARS record (RFC 2443)")
    local c = cursor(tvb, off, off + len, t, e.record)
    c:add(f.mars_hrd, 2, "Hardware Type")
    c:add(f.mars_pro, 2, "Protocol Type")
    c:add(f.mars_snap, 5, "Protocol SNAP")
    c:add(f.mars_unused, 1, "Unused")
    local version = c:add(f.mars_version, 1, "Version")
    if version and version ~= 0 then t:add_proto_expert_info(e.record, string.format("version %d: RFC 2443 records are version 0", version)) end
    local state = c:add(f.mars_state, 1, "State")
    if state and (state < 1 or state > 5) then
        t:add_proto_expert_info(e.record, string.format("state %d: RFC 2443 section 3 discards states other than 1 to 5", state))
    end
    if c:need(2, "Flags") then
        local fl = t:add(f.mars_flags, tvb(c.off, 2))
        fl:add(f.mars_flag_layer3grp, tvb(c.off, 2))
        fl:add(f.mars_flag_register, tvb(c.off, 2))
        fl:add(f.mars_flags_reserved, tvb(c.off, 2))
        fl:add(f.mars_flag_sequence, tvb(c.off, 2))
        c.off = c.off + 2
    end
    local cmi = c:add(f.mars_cmi, 2, "Cluster Member ID")
    local slen = c:add(f.mars_src_len, 1, "Src Addr Len")
    local glen = c:add(f.mars_grp_len, 1, "Group Addr Len")
    local atl = c:tl(f.mars_atm_tl, "ATM Addr T/L")
    local stl = c:tl(f.mars_sub_tl, "ATM SubAddr T/L")
    if not c.ok then return end
    c:proto_addr(mars_src, slen, "Source Protocol Address")
    if c.ok then c:addr(f.mars_src_atm, atl.n, "Source ATM Address", fmt_atm(tvb, c.off, math.min(atl.n, c.stop - c.off), atl.e164)) end
    if c.ok then c:addr(f.mars_src_sub, stl.n, "Source ATM SubAddress", fmt_atm(tvb, c.off, math.min(stl.n, c.stop - c.off), stl.e164)) end
    local g_off = c.off
    c:proto_addr(mars_gmin, glen, "Minimum Multicast Group Address")
    c:proto_addr(mars_gmax, glen, "Maximum Multicast Group Address")
    c:finish("maximum multicast group address")
    if c.ok then
        local groups = ""
        if glen == 4 then
            groups = string.format(", groups %s-%s", fmt_id(tvb, g_off, 4), fmt_id(tvb, g_off + 4, 4))
        end
        t:append_text(string.format(": %s, CMI %d%s", mars_states[state] or tostring(state), cmi, groups))
    end
end

local GENERIC_PREFIX = "\255\000LT"

local function dissect_generic(tvb, off, len, tree)
    if len == 0 then
        tree:add(tvb(off, 0), "Generic record: empty (deletes the entry)")
        return
    end
    if len >= 4 and tvb:raw(off, 4) == GENERIC_PREFIX then
        local t = tree:add(scsp, tvb(off, len), "Generic record with a lifetime prefix")
        t:add(f.gen_magic, tvb(off, 4))
        if len < 8 then
            t:add_proto_expert_info(e.record, string.format(
                "%d octets: data starting with ff 00 4c 54 needs at least 8", len))
            return
        end
        local lt = tvb(off + 4, 4):uint()
        t:add(f.gen_lifetime, tvb(off + 4, 4))
        if len > 8 then t:add(f.gen_payload, tvb(off + 8, len - 8)) end
        t:append_text(string.format(": lifetime %ds, %d octets", lt, len - 8))
    end
end

local function dissect_data(pid, tvb, off, len, tree)
    if pid == 1 then
        if len > 0 then dissect_atmarp(tvb, off, len, tree) end
    elseif pid == 2 then
        if len > 0 then dissect_nhrp(tvb, off, len, tree) end
    elseif pid == 3 then
        if len > 0 then dissect_mars(tvb, off, len, tree) end
    else
        dissect_generic(tvb, off, len, tree)
    end
end

----------------------------------------------------------------------------------------------
-- Reconciliation messages (docs/reconciliation.md section 5.2), the Data of a Vendor-Private
-- extension with the configured Vendor ID

-- The flags octet of a Bulk or Bulk Ack message, with its one flag (0x01) named by `field`;
-- returns its value (nil if the message is cut short there).
local function recon_flag_octet(c, t, field)
    if not c:need(1, "Flags") then return nil end
    local flags = c.tvb(c.off, 1):uint()
    local fl = t:add(f.rc_flags, c.tvb(c.off, 1))
    fl:add(field, c.tvb(c.off, 1))
    c.off = c.off + 1
    return flags
end

local function dissect_recon(tvb, off, len, tree)
    local t = tree:add(scsp, tvb(off, len), "Reconciliation message (docs/reconciliation.md)")
    local c = cursor(tvb, off, off + len, t, e.recon)
    local version = c:add(f.rc_version, 1, "Version")
    local kind = c:add(f.rc_kind, 1, "Kind")
    if not c.ok then return nil end
    if version ~= 1 then
        t:add_proto_expert_info(e.unknown, string.format("reconciliation version %d (this dissector knows 1)", version))
        return nil
    end
    local name = recon_kinds[kind]
    if not name then
        t:add_proto_expert_info(e.recon, string.format("unknown kind %d", kind))
        return nil
    end
    t:append_text(": " .. name)
    if kind == 0 then
        if c:need(1, "Flags") then
            local fl = t:add(f.rc_flags, tvb(c.off, 1))
            fl:add(f.rc_flag_reconcile, tvb(c.off, 1))
            fl:add(f.rc_flag_bulk, tvb(c.off, 1))
            c.off = c.off + 1
        end
        c:add(f.rc_reserved, 1, "Reserved")
        local m = c:add(f.rc_m, 4, "M")
        c:add(f.rc_key, 16, "Key")
        if m then t:append_text(string.format(", M %d", m)) end
    elseif kind == 1 then
        c:add(f.rc_reserved, 2, "Reserved")
        local start = c:add(f.rc_start, 4, "Start")
        local n = c:add(f.rc_n, 2, "n")
        c:add(f.rc_reserved, 2, "Reserved")
        if not c.ok then return name end
        if len ~= 12 + 20 * n then
            t:add_proto_expert_info(e.recon, string.format("%d octets do not hold 12 + 20 x %d (n cells)", len, n))
        end
        for i = 0, n - 1 do
            if not c:need(20, string.format("Cell %d", start + i)) then break end
            local ct = t:add(scsp, tvb(c.off, 20), string.format("Cell %d", start + i))
            ct:add(f.rc_cell_sum, tvb(c.off, 8))
            ct:add(f.rc_cell_checksum, tvb(c.off + 8, 8))
            ct:add(f.rc_cell_count, tvb(c.off + 16, 4))
            c.off = c.off + 20
        end
        t:append_text(string.format(", start %d, %d cells", start, n))
    elseif kind == 2 then
        c:add(f.rc_reserved, 2, "Reserved")
        local nx = c:add(f.rc_next, 4, "Next")
        local w = c:add(f.rc_window, 4, "Window")
        if w then t:append_text(string.format(", next %d, window %d", nx, w)) end
    elseif kind == 3 then
        local st = c:add(f.rc_status, 1, "Status")
        c:add(f.rc_reserved, 1, "Reserved")
        local n = c:add(f.rc_n, 2, "n")
        c:add(f.rc_reserved, 2, "Reserved")
        local o = c:add(f.rc_offset, 4, "Offset")
        local total = c:add(f.rc_total, 4, "Total")
        if not c.ok then return name end
        if st > 3 then t:add_proto_expert_info(e.recon, string.format("unknown status %d", st)) end
        if len ~= 16 + 8 * n then
            t:add_proto_expert_info(e.recon, string.format("%d octets do not hold 16 + 8 x %d (n symbols)", len, n))
        end
        if o + n > total then
            t:add_proto_expert_info(e.recon, string.format("offset %d + n %d is past total %d", o, n, total))
        end
        for _ = 1, n do
            if not c:need(8, "Symbol") then break end
            c:add(f.rc_symbol, 8, "Symbol")
        end
        t:append_text(string.format(", %s, %d of %d symbols from %d", recon_status[st] or tostring(st), n, total, o))
    elseif kind == 4 then
        local flags = recon_flag_octet(c, t, f.rc_flag_whole)
        c:add(f.rc_reserved, 1, "Reserved")
        local o = c:add(f.rc_offset, 4, "Offset")
        local n = c:add(f.rc_count, 2, "Count")
        c:add(f.rc_reserved, 2, "Reserved")
        if n then
            t:append_text(string.format(", offset %d, count %d", o, n))
            if flags and flags % 2 == 1 then t:append_text(", whole") end
        end
        -- An offer (offset 0, count 0, in a CA) may say how many entries the holder streams.
        if c.ok and c.stop - c.off >= 4 then
            local total = c:add(f.rc_total, 4, "Total")
            if total then t:append_text(string.format(", total %d", total)) end
        end
    elseif kind == 5 then
        local flags = recon_flag_octet(c, t, f.rc_flag_clean)
        c:add(f.rc_reserved, 1, "Reserved")
        local nx = c:add(f.rc_next, 4, "Next")
        local cr = c:add(f.rc_credit, 4, "Credit")
        if cr then
            t:append_text(string.format(", next %d, credit %d", nx, cr))
            if flags and flags % 2 == 1 then t:append_text(", clean") end
        end
    end
    return name
end

----------------------------------------------------------------------------------------------
-- The packet

-- One CSAS record (standalone) or CSA record at off, within [off, stop). Returns the offset of
-- the next record, or nil when the records cannot be followed further.
-- B.2.5 Additional Receiver ID record number `index` of a Hello at off; the offset after it,
-- or nil when it runs past stop (the end of the mandatory part).
local function dissect_receiver_id(tvb, tree, off, stop, index)
    local n = tvb(off, 1):uint()
    if off + 1 + n > stop then
        local t = tree:add(scsp, tvb(off, stop - off), string.format("Additional Receiver ID record %d", index))
        t:add(f.rec_id_len, tvb(off, 1)):add_proto_expert_info(e.length_overrun, string.format(
            "Rec ID Len %d runs past the mandatory part (%d octets left)", n, stop - off - 1))
        return nil
    end
    local text = fmt_id(tvb, off + 1, n)
    local t = tree:add(scsp, tvb(off, 1 + n), string.format("Additional Receiver ID record %d: %s", index, text))
    t:add(f.rec_id_len, tvb(off, 1))
    if n > 0 then t:add(f.rec_id, tvb(off + 1, n)):append_text(" (" .. text .. ")") end
    return off + 1 + n
end

local function dissect_record(tvb, tree, off, stop, index, standalone, pid)
    local what = standalone and "CSAS record" or "CSA record"
    local avail = stop - off
    if avail < 12 then
        local t = tree:add(scsp, tvb(off, avail), string.format("%s %d (truncated)", what, index))
        t:add_proto_expert_info(e.length_short, string.format(
            "%s %d: %d octets left, shorter than its 12-octet header (B.2.0.2)", what, index, avail))
        return nil
    end
    local rec_len = tvb(off + 2, 2):uint()
    local klen = tvb(off + 4, 1):uint()
    local olen = tvb(off + 5, 1):uint()
    local null = tvb(off + 6, 1):uint() >= 128
    local seq = tvb(off + 8, 4):uint()
    local summary_len = 12 + klen + olen
    local shown = math.max(12, math.min(rec_len, avail))
    local t = tree:add(scsp, tvb(off, shown), string.format("%s %d", what, index))
    t:add(f.csas_hops, tvb(off, 2))
    local li = t:add(f.csas_len, tvb(off + 2, 2))
    t:add(f.csas_key_len, tvb(off + 4, 1))
    t:add(f.csas_orig_len, tvb(off + 5, 1))
    local fl = t:add(f.csas_flags, tvb(off + 6, 2))
    fl:add(f.csas_null, tvb(off + 6, 2))
    fl:add(f.csas_unused, tvb(off + 6, 2))
    t:add(f.csas_seq, tvb(off + 8, 4)):append_text(seq_note(seq))
    -- The key and originator, as far as they are present.
    local key_text, orig_text = "?", "?"
    if 12 + klen <= avail then
        key_text = hex(tvb, off + 12, klen)
        if klen > 0 then t:add(f.csas_key, tvb(off + 12, klen)) end
    end
    if summary_len <= avail then
        orig_text = fmt_id(tvb, off + 12 + klen, olen)
        if olen > 0 then t:add(f.csas_orig, tvb(off + 12 + klen, olen)):append_text(" (" .. orig_text .. ")") end
    end
    t:append_text(string.format(": key %s, originator %s, seq 0x%08x%s", key_text, orig_text, seq,
        null and " [null]" or ""))
    if rec_len < 12 then
        li:add_proto_expert_info(e.length_short, string.format(
            "Record Length %d is shorter than the 12-octet record header", rec_len))
        return nil
    end
    if rec_len < summary_len then
        li:add_proto_expert_info(e.length_short, string.format(
            "Record Length %d is shorter than its header and IDs (12 + %d + %d = %d)", rec_len, klen, olen, summary_len))
        return nil
    end
    if rec_len > avail then
        li:add_proto_expert_info(e.length_overrun, string.format(
            "Record Length %d runs past the end of the mandatory part (%d octets left)", rec_len, avail))
        return nil
    end
    if standalone then
        if rec_len ~= summary_len then
            li:add_proto_expert_info(e.malformed, string.format(
                "a stand-alone CSAS record's length is 12 + %d + %d = %d, not %d", klen, olen, summary_len, rec_len))
        end
    else
        local dlen = rec_len - summary_len
        if dlen > 0 then
            t:add(f.csa_data, tvb(off + summary_len, dlen))
        end
        dissect_data(pid, tvb, off + summary_len, dlen, t)
    end
    return off + rec_len
end

local function dissect(tvb, pinfo, root)
    local caplen = tvb:len()
    if caplen < 8 then
        root:add_proto_expert_info(e.length_short, string.format(
            "%d octets: shorter than the 8-octet fixed part (B.1)", caplen))
        pinfo.cols.info = "SCSP (truncated)"
        return
    end
    local version = tvb(0, 1):uint()
    local mtype = tvb(1, 1):uint()
    local size = tvb(2, 2):uint()
    local csum = tvb(4, 2):uint()
    local soe = tvb(6, 2):uint()
    local tname = msg_types[mtype] or string.format("type %d", mtype)
    local info = { tname }

    local fixed = root:add(scsp, tvb(0, 8), "Fixed Part")
    local vi = fixed:add(f.version, tvb(0, 1))
    if version ~= 1 then vi:add_proto_expert_info(e.unknown, string.format("version %d (RFC 2334 is version 1)", version)) end
    local ti = fixed:add(f.type, tvb(1, 1))
    local si = fixed:add(f.size, tvb(2, 2))
    local stop = caplen
    if size > caplen then
        si:add_proto_expert_info(e.length_overrun, string.format(
            "Packet Size %d runs past the packet (%d octets)", size, caplen))
    elseif size < 8 then
        si:add_proto_expert_info(e.length_short, string.format(
            "Packet Size %d is shorter than the 8-octet fixed part", size))
    elseif size < caplen then
        si:add_proto_expert_info(e.malformed, string.format(
            "%d octets after the packet (Packet Size %d)", caplen - size, size))
        stop = size
    end
    local ci = fixed:add(f.checksum, tvb(4, 2))
    if size == stop then
        local s = tvb:raw(0, size)
        local all = ones_sum(s, -1)
        local expected = 0xffff - ones_sum(s, 4)
        if all == 0xffff then
            fixed:add(f.checksum_status, tvb(4, 2), 1):set_generated()
        else
            fixed:add(f.checksum_status, tvb(4, 2), 0):set_generated()
            fixed:add(f.checksum_expected, tvb(4, 2), expected):set_generated()
            ci:add_proto_expert_info(e.checksum_bad, string.format(
                "Bad checksum 0x%04x (should be 0x%04x)", csum, expected))
            info[#info + 1] = "[BAD CHECKSUM]"
        end
    else
        fixed:add(f.checksum_status, tvb(4, 2), 2):set_generated()
    end
    local soi = fixed:add(f.soe, tvb(6, 2))

    local function done()
        pinfo.cols.info = table.concat(info, " ")
    end
    if not msg_types[mtype] then
        ti:add_proto_expert_info(e.unknown, string.format("unknown message type %d", mtype))
        done()
        return
    end

    -- The fields before the mandatory common part, and the common part.
    local prefix = (mtype == 1) and 4 or ((mtype == 5) and 8 or 0)
    local need = 8 + prefix + 12
    local mand = root:add(scsp, tvb(8, math.min(need, stop) - 8), tname .. " Mandatory Part")
    if stop < need then
        mand:add_proto_expert_info(e.length_overrun, string.format(
            "the %s mandatory part needs %d octets; the packet has %d", tname, need, stop))
        done()
        return
    end
    local off = 8
    if mtype == 1 then
        local seq = tvb(8, 4):uint()
        mand:add(f.ca_seq, tvb(8, 4))
        info[#info + 1] = string.format("seq=0x%08x", seq)
    elseif mtype == 5 then
        mand:add(f.hello_interval, tvb(8, 2))
        mand:add(f.hello_dead, tvb(10, 2))
        mand:add(f.hello_unused, tvb(12, 2))
        mand:add(f.hello_family, tvb(14, 2))
        info[#info + 1] = string.format("interval=%d dead=%d", tvb(8, 2):uint(), tvb(10, 2):uint())
    end
    off = 8 + prefix
    local common = mand:add(scsp, tvb(off, 12), "Mandatory Common Part")
    local pid = tvb(off, 2):uint()
    common:add(f.protocol_id, tvb(off, 2))
    common:add(f.sgid, tvb(off + 2, 2))
    common:add(f.unused, tvb(off + 4, 2))
    local fl = common:add(f.flags, tvb(off + 6, 2))
    local flags = tvb(off + 6, 2):uint()
    if mtype == 1 then
        fl:add(f.ca_m, tvb(off + 6, 2))
        fl:add(f.ca_i, tvb(off + 6, 2))
        fl:add(f.ca_o, tvb(off + 6, 2))
        fl:add(f.ca_flags_unused, tvb(off + 6, 2))
        local bits = {}
        if flags >= 0x8000 then bits[#bits + 1] = "M" end
        if math.floor(flags / 0x4000) % 2 == 1 then bits[#bits + 1] = "I" end
        if math.floor(flags / 0x2000) % 2 == 1 then bits[#bits + 1] = "O" end
        if #bits > 0 then info[#info + 1] = "[" .. table.concat(bits, " ") .. "]" end
    end
    local slen = tvb(off + 8, 1):uint()
    local rlen = tvb(off + 9, 1):uint()
    local count = tvb(off + 10, 2):uint()
    common:add(f.sender_len, tvb(off + 8, 1))
    common:add(f.receiver_len, tvb(off + 9, 1))
    common:add(f.count, tvb(off + 10, 2))
    off = off + 12
    if off + slen > stop then
        common:add_proto_expert_info(e.length_overrun, string.format(
            "Sender ID Len %d runs past the packet (%d octets left)", slen, stop - off))
        done()
        return
    end
    local sender_text = fmt_id(tvb, off, slen)
    if slen > 0 then common:add(f.sender, tvb(off, slen)):append_text(" (" .. sender_text .. ")") end
    off = off + slen
    if off + rlen > stop then
        common:add_proto_expert_info(e.length_overrun, string.format(
            "Recvr ID Len %d runs past the packet (%d octets left)", rlen, stop - off))
        done()
        return
    end
    local receiver_text = fmt_id(tvb, off, rlen)
    if rlen > 0 then common:add(f.receiver, tvb(off, rlen)):append_text(" (" .. receiver_text .. ")") end
    off = off + rlen
    table.insert(info, 2, string.format("%s -> %s pid=%d sgid=%d", sender_text, receiver_text, pid,
        tvb(8 + prefix + 2, 2):uint()))
    common:append_text(string.format(": %s (%d), SGID %d, %s -> %s", protocol_ids[pid] or "other", pid,
        tvb(8 + prefix + 2, 2):uint(), sender_text, receiver_text))

    -- Where the mandatory part ends: the Start Of Extensions, or the end of the packet.
    local records_start = off
    local mand_end = stop
    local extensions = false
    if soe ~= 0 then
        if soe > stop then
            soi:add_proto_expert_info(e.length_overrun, string.format(
                "Start Of Extensions %d runs past the packet (%d octets)", soe, stop))
        elseif soe < records_start then
            soi:add_proto_expert_info(e.malformed, string.format(
                "Start Of Extensions %d points inside the mandatory part (records start at %d)", soe, records_start))
        else
            mand_end = soe
            extensions = true
        end
    end

    -- The records: Additional Receiver ID records in a Hello, CSA or CSAS records otherwise.
    local standalone = mtype ~= 2
    for i = 1, count do
        if off >= mand_end then
            mand:add_proto_expert_info(e.length_overrun, string.format(
                "Number of Records %d runs past the mandatory part: %d found", count, i - 1))
            break
        end
        local nxt
        if mtype == 5 then
            nxt = dissect_receiver_id(tvb, mand, off, mand_end, i)
        else
            nxt = dissect_record(tvb, mand, off, mand_end, i, standalone, pid)
        end
        if not nxt then
            off = mand_end
            break
        end
        off = nxt
    end
    if off < mand_end then
        mand:add_proto_expert_info(e.malformed, string.format(
            "%d octets after the last record, before the %s", mand_end - off,
            extensions and "extensions" or "end of the packet"))
    end
    if mtype == 5 then
        info[#info + 1] = string.format("receivers=%d", (rlen > 0 and 1 or 0) + count)
    else
        info[#info + 1] = string.format("%s=%d", mtype == 2 and "CSA" or "CSAS", count)
    end

    -- The extensions (B.3).
    if extensions then
        local ext = root:add(scsp, tvb(mand_end, stop - mand_end), "Extensions")
        local seen, seen_vendor = {}, {}
        off = mand_end
        while true do
            if off >= stop then
                ext:add_proto_expert_info(e.malformed, "the extensions do not end with End Of Extensions (B.3)")
                break
            end
            if stop - off < 4 then
                ext:add_proto_expert_info(e.length_short, string.format(
                    "%d octets left: shorter than a 4-octet extension header", stop - off))
                break
            end
            local etype = tvb(off, 2):uint()
            local elen = tvb(off + 2, 2):uint()
            local ename = ext_types[etype] or string.format("Unknown (%d)", etype)
            local room = stop - off - 4
            local t = ext:add(scsp, tvb(off, 4 + math.min(elen, room)), ename .. " extension")
            t:add(f.ext_type, tvb(off, 2))
            local li = t:add(f.ext_len, tvb(off + 2, 2))
            if elen > room then
                li:add_proto_expert_info(e.length_overrun, string.format(
                    "extension Length %d runs past the packet (%d octets left)", elen, room))
                break
            end
            local v = off + 4
            if etype == 0 then
                if elen ~= 0 then li:add_proto_expert_info(e.malformed, "End Of Extensions has Length 0 (B.3.0)") end
                if v + elen ~= stop then
                    t:add_proto_expert_info(e.malformed, string.format(
                        "%d octets after End Of Extensions", stop - v - elen))
                end
                break
            end
            if etype == 2 then
                if elen < 3 then
                    li:add_proto_expert_info(e.length_short, string.format(
                        "Vendor-Private extension of %d octets: shorter than its 3-octet Vendor ID", elen))
                else
                    local vid = tvb(v, 3):uint()
                    t:add(f.vp_vendor, tvb(v, 3))
                    t:append_text(string.format(": Vendor ID 0x%06x", vid))
                    if seen_vendor[vid] then
                        t:add_proto_expert_info(e.malformed, string.format(
                            "a second Vendor-Private extension with Vendor ID 0x%06x (B.3.2)", vid))
                    end
                    seen_vendor[vid] = true
                    if elen > 3 then t:add(f.vp_data, tvb(v + 3, elen - 3)) end
                    local vtag = "VP"
                    if vid == scsp.prefs.recon_vendor_id and elen > 3 then
                        local kind = dissect_recon(tvb, v + 3, elen - 3, t)
                        if kind then vtag = "Recon-" .. kind:gsub(" ", "") end
                    end
                    info[#info + 1] = "+" .. vtag
                end
            else
                if seen[etype] then
                    t:add_proto_expert_info(e.malformed, string.format("extension type %d occurs twice (B.3)", etype))
                end
                seen[etype] = true
                if etype == 1 then
                    if elen < 4 then
                        li:add_proto_expert_info(e.length_short, string.format(
                            "Authentication extension of %d octets: shorter than its 4-octet SPI", elen))
                    else
                        local spi = tvb(v, 4):uint()
                        t:add(f.auth_spi, tvb(v, 4))
                        local mac = elen - 4
                        if mac > 0 then t:add(f.auth_data, tvb(v + 4, mac)) end
                        local alg = (mac == 16 and "HMAC-MD5-128") or (mac == 32 and "HMAC-SHA-256")
                            or string.format("unknown (%d-octet MAC)", mac)
                        t:add(f.auth_algorithm, tvb(v, elen), alg):set_generated()
                        t:append_text(string.format(": SPI %d, %s", spi, alg))
                        info[#info + 1] = "+Auth"
                    end
                else
                    if elen > 0 then t:add(f.ext_value, tvb(v, elen)) end
                    t:add_proto_expert_info(e.unknown, string.format("unknown extension type %d", etype))
                end
            end
            off = v + elen
        end
    end
    done()
end

function scsp.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = "SCSP"
    local root = tree:add(scsp, tvb())
    local ok, err = pcall(dissect, tvb, pinfo, root)
    if not ok then
        root:add_proto_expert_info(e.bug, "dissector error: " .. tostring(err))
    end
    return tvb:len()
end

----------------------------------------------------------------------------------------------
-- Registration

local udp_port = DissectorTable.get("udp.port")
local registered_port = DEFAULT_PORT
udp_port:add(registered_port, scsp)
-- Listed in Decode As for every UDP port (older Wireshark without this method lists it anyway,
-- through the port above).
pcall(function() udp_port:add_for_decode_as(scsp) end)

function scsp.prefs_changed()
    if scsp.prefs.udp_port ~= registered_port then
        if registered_port ~= 0 then udp_port:remove(registered_port, scsp) end
        registered_port = scsp.prefs.udp_port
        if registered_port ~= 0 then udp_port:add(registered_port, scsp) end
    end
end
