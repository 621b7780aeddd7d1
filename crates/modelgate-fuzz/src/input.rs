//! How the targets read their input: a selector byte, and chunk sizes
//! that cut a body into the frames it arrives in.

/// The first byte of `data` (a selector: which operation, dialect or
/// direction) and the rest; `None` for empty input.
pub(crate) fn selector(data: &[u8]) -> Option<(u8, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((first, rest))
}

/// `data` cut into chunks at sizes taken from `sizes` (cycled, each 1 to
/// 256 bytes): how a body arrives in frames.
pub(crate) fn chunks<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes
            .get(i % sizes.len().max(1))
            .map_or(rest.len(), |&s| usize::from(s) + 1);
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        out.push(chunk);
        rest = tail;
        i += 1;
    }
    out
}
