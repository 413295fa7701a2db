//! One stats object while convert() works on it.

use serde_json::{Map, Value};

use super::stats_type::StatsType;

/// One stats object. `id`, `type` and `timestamp` join the members only in the JSON, so
/// that the fix-ups read the type as a [`StatsType`] and the id as a plain string.
#[derive(Debug, Clone)]
pub struct StatsObject {
    pub ty: StatsType,
    pub id: String,
    pub timestamp: f64,
    /// The W3C members other than `id`, `type` and `timestamp`.
    pub members: Map<String, Value>,
    /// remote-inbound-rtp's report block jitter, in RTP timestamp units: it becomes the
    /// `jitter` member (seconds) only once the codec clock rate is known (fixups.rs).
    pub rb_jitter: Option<u64>,
}

impl StatsObject {
    pub fn new(ty: StatsType, id: String, timestamp: f64) -> Self {
        StatsObject { ty, id, timestamp, members: Map::new(), rb_jitter: None }
    }

    /// A string member.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.members.get(key).and_then(Value::as_str)
    }

    pub fn set(&mut self, key: &str, v: impl Into<Value>) {
        self.members.insert(key.into(), v.into());
    }

    pub fn into_json(self) -> Value {
        let mut obj = self.members;
        obj.insert("id".into(), Value::from(self.id));
        obj.insert("type".into(), Value::from(self.ty.as_str()));
        obj.insert("timestamp".into(), Value::from(self.timestamp));
        Value::Object(obj)
    }
}
