//! Reads of webrtcbin's structure fields. Members come as u32, u64, i32 or i64 depending on
//! the member (rtpsource's nested stats mix them too), so every integer read accepts any width.

pub fn uint(s: &gst::StructureRef, field: &str) -> Option<u64> {
    let v = s.value(field).ok()?;
    v.get::<u32>()
        .map(u64::from)
        .or_else(|_| v.get::<u64>())
        .ok()
        .or_else(|| v.get::<i32>().ok().and_then(|x| u64::try_from(x).ok()))
        .or_else(|| v.get::<i64>().ok().and_then(|x| u64::try_from(x).ok()))
}

pub fn int(s: &gst::StructureRef, field: &str) -> Option<i64> {
    let v = s.value(field).ok()?;
    v.get::<i64>()
        .or_else(|_| v.get::<i32>().map(i64::from))
        .or_else(|_| v.get::<u32>().map(i64::from))
        .ok()
        .or_else(|| v.get::<u64>().ok().and_then(|x| i64::try_from(x).ok()))
}

pub fn float(s: &gst::StructureRef, field: &str) -> Option<f64> {
    let v = s.value(field).ok()?;
    v.get::<f64>().ok().or_else(|| int(s, field).map(|x| x as f64))
}

pub fn string(s: &gst::StructureRef, field: &str) -> Option<String> {
    s.get::<Option<String>>(field).ok().flatten()
}

pub fn nested(s: &gst::StructureRef, field: &str) -> Option<gst::Structure> {
    s.get::<Option<gst::Structure>>(field).ok().flatten()
}
