//! Just enough DER to print an X.509 name as HAProxy's `ssl_c_s_dn` does
//! (`/C=FR/O=Example/CN=host`, OpenSSL's short names) and to list its CNs.

/// One TLV: tag, contents, the rest of the input.
pub(crate) fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// OpenSSL's short name of an attribute type (its dotted form when unknown).
pub(crate) fn short_name(oid: &[u8]) -> String {
    let known: &[(&[u8], &str)] = &[
        (&[0x55, 0x04, 0x03], "CN"),
        (&[0x55, 0x04, 0x04], "SN"),
        (&[0x55, 0x04, 0x05], "serialNumber"),
        (&[0x55, 0x04, 0x06], "C"),
        (&[0x55, 0x04, 0x07], "L"),
        (&[0x55, 0x04, 0x08], "ST"),
        (&[0x55, 0x04, 0x09], "street"),
        (&[0x55, 0x04, 0x0a], "O"),
        (&[0x55, 0x04, 0x0b], "OU"),
        (&[0x55, 0x04, 0x0c], "title"),
        (&[0x55, 0x04, 0x2a], "GN"),
        (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
            "emailAddress",
        ),
        (
            &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
            "DC",
        ),
    ];
    if let Some((_, n)) = known.iter().find(|(o, _)| *o == oid) {
        return (*n).to_string();
    }
    // Dotted form.
    let mut parts = Vec::new();
    let mut v: u64 = 0;
    for (i, &b) in oid.iter().enumerate() {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() && i < 4 {
                let first = (v / 40).min(2);
                parts.push(first);
                parts.push(v - first * 40);
            } else {
                parts.push(v);
            }
            v = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// The attributes of a Name, in order: (short name, value).
pub(crate) fn name_attributes(name: &[u8]) -> Vec<(String, String)> {
    let mut body = name;
    // Accept the Name with or without its outer SEQUENCE.
    if let Some((0x30, inner, rest)) = tlv(name) {
        if rest.is_empty() {
            body = inner;
        }
    }
    let mut out = Vec::new();
    while let Some((tag, set, rest)) = tlv(body) {
        body = rest;
        if tag != 0x31 {
            break;
        }
        let mut atvs = set;
        while let Some((0x30, atv, more)) = tlv(atvs) {
            atvs = more;
            let Some((0x06, oid, after)) = tlv(atv) else {
                continue;
            };
            let Some((_, value, _)) = tlv(after) else {
                continue;
            };
            out.push((short_name(oid), String::from_utf8_lossy(value).into_owned()));
        }
    }
    out
}

/// `/C=../O=../CN=..` as HAProxy prints a DN by default.
pub(crate) fn oneline(name: &[u8]) -> String {
    name_attributes(name)
        .into_iter()
        .map(|(k, v)| format!("/{k}={v}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
        let body: Vec<u8> = parts.concat();
        let mut v = vec![tag, body.len() as u8];
        v.extend(body);
        v
    }

    #[test]
    fn a_name_prints_as_haproxy_does() {
        let atv = |oid: &[u8], val: &str| {
            seq(
                0x31,
                &[&seq(
                    0x30,
                    &[&seq(0x06, &[oid]), &seq(0x0c, &[val.as_bytes()])],
                )],
            )
        };
        let name = seq(
            0x30,
            &[
                &atv(&[0x55, 4, 6], "FR"),
                &atv(&[0x55, 4, 3], "client one"),
                &atv(&[0x55, 4, 99], "x"),
            ],
        );
        assert_eq!(oneline(&name), "/C=FR/CN=client one/2.5.4.99=x");
        assert_eq!(oneline(&name[2..]), "/C=FR/CN=client one/2.5.4.99=x");
        // Truncated input yields what could be read, never a panic.
        for cut in 0..name.len() {
            let _ = oneline(&name[..cut]);
        }
    }
}
