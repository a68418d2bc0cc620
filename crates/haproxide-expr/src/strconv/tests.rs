use super::*;
use crate::conv::find_conv;
use crate::SampleExpr;

fn run<'a>(name: &str, args: &[Arg], s: Sample<'a>) -> Option<Sample<'a>> {
    let c = find_conv(name).expect(name);
    (c.conv)(args, s.cast(c.input)?)
}
fn s(b: &'static str) -> Sample<'static> {
    Sample::Str(Cow::Borrowed(b.as_bytes()))
}
fn st(v: &str) -> Arg {
    Arg::Str(v.into())
}

#[test]
fn base64_round_trips() {
    for v in ["", "a", "ab", "abc", "abcd", "bob:secret"] {
        let e = b64_encode(v.as_bytes());
        assert_eq!(b64_decode(&e).as_deref(), Some(v.as_bytes()), "{v}");
    }
    assert_eq!(b64_encode(b"bob:secret"), b"Ym9iOnNlY3JldA==");
    assert_eq!(b64_decode(b"Ym9i="), None);
    assert_eq!(b64_decode(b"Y=9i"), None);
    assert_eq!(b64_decode(b"@@@@"), None);
    assert_eq!(run("base64", &[], s("hi")), Some(s("aGk=")));
    assert_eq!(
        run("b64dec", &[], s("aGk=")),
        Some(Sample::Bin(Cow::Owned(b"hi".to_vec())))
    );
}

#[test]
fn string_converters() {
    let i = Arg::Int;
    let cases: Vec<(&str, Vec<Arg>, Sample<'static>, Option<Sample<'static>>)> = vec![
        ("url_dec", vec![], s("/a%20b?c=d+e"), Some(s("/a b?c=d e"))),
        ("url_dec", vec![], s("a+b"), Some(s("a+b"))),
        ("url_dec", vec![i(1)], s("a+b"), Some(s("a b"))),
        ("url_dec", vec![], s("%zz"), None),
        ("url_dec", vec![], s("%4"), None),
        ("field", vec![i(2), st("|")], s("a|b|c"), Some(s("b"))),
        ("field", vec![i(-1), st("|")], s("a|b|c"), Some(s("c"))),
        (
            "field",
            vec![i(2), st("|"), i(2)],
            s("a|b|c"),
            Some(s("b|c")),
        ),
        (
            "field",
            vec![i(2), st("|"), i(0)],
            s("a|b|c|d"),
            Some(s("b|c|d")),
        ),
        ("field", vec![i(5), st("|")], s("a|b"), None),
        ("field", vec![i(2), st("|")], s("a||c"), Some(s(""))),
        ("word", vec![i(2), st("|")], s("a||c"), Some(s("c"))),
        ("word", vec![i(-1), st("/")], s("/x/y/"), Some(s("y"))),
        ("json", vec![], s("a\"b\\\n"), Some(s("a\\\"b\\\\\\n"))),
    ];
    for (name, args, input, want) in cases {
        assert_eq!(
            run(name, &args, input.clone()),
            want,
            "{name}({args:?}) {input:?}"
        );
    }
}

#[test]
fn regsub_first_and_global() {
    let e = SampleExpr::parse("req.ver,regsub(\\.,-)").unwrap();
    assert_eq!(e.out_type(), SmpType::Str);
    let p = |a: &str, b: &str, f: &str| {
        prepare_regsub("regsub", vec![st(a), st(b), st(f)], &Opts::default()).unwrap()
    };
    assert_eq!(
        run("regsub", &p("a", "X", ""), s("banana")),
        Some(s("bXnana"))
    );
    assert_eq!(
        run("regsub", &p("a", "X", "g"), s("banana")),
        Some(s("bXnXnX"))
    );
    assert_eq!(
        run("regsub", &p("A", "X", "gi"), s("banana")),
        Some(s("bXnXnX"))
    );
    assert_eq!(
        run("regsub", &p("(n)(a)", "\\2\\1", "g"), s("banana")),
        Some(s("baanan"))
    );
    let e = prepare_regsub("regsub", vec![st("("), st("")], &Opts::default()).unwrap_err();
    assert!(e.is_invalid());
    let e = prepare_regsub("regsub", vec![st("a"), st(""), st("x")], &Opts::default()).unwrap_err();
    assert!(e.message.contains("invalid regex flag 'x'"), "{e}");
}

#[test]
fn maps_load_and_match() {
    let read = |p: &str| -> Result<String, String> {
        match p {
            "/hosts.map" => Ok("# c\nexample.com be1\n.org   be2 \n\n".into()),
            "/ports.map" => Ok("80 1\n443 2\n".into()),
            "/nets.map" => Ok("10.0.0.0/8 lan\n".into()),
            "/bad_int.map" => Ok("a b\n".into()),
            "/regm.map" => Ok("^(.*)\\.(.*)$ \\1_AND_\\2\n".into()),
            _ => Err("ENOENT".into()),
        }
    };
    let opts = Opts {
        pattern_file: Some(&read),
        ..Opts::default()
    };
    let m = |name: &str, args: Vec<Arg>| prepare_map(name, args, &opts);
    let a = m("map", vec![st("/hosts.map"), st("def")]).unwrap();
    assert_eq!(run("map", &a, s("example.com")), Some(s("be1")));
    assert_eq!(run("map", &a, s("x")), Some(s("def")));
    // map_regm: the value's \N are the key's captures (HAProxy's reg-test).
    let a = m("map_regm", vec![st("/regm.map"), st("unknown")]).unwrap();
    assert_eq!(
        run("map_regm", &a, s("www.example.org")),
        Some(s("www.example_AND_org"))
    );
    assert_eq!(run("map_regm", &a, s("localhost")), Some(s("unknown")));
    let a = m("map_end", vec![st("/hosts.map")]).unwrap();
    assert_eq!(run("map_end", &a, s("www.x.org")), Some(s("be2")));
    assert_eq!(run("map_end", &a, s("nope")), None);
    let a = m("map_int_int", vec![st("/ports.map"), st("0")]).unwrap();
    assert_eq!(
        run("map_int_int", &a, Sample::Sint(443)),
        Some(Sample::Sint(2))
    );
    assert_eq!(
        run("map_int_int", &a, Sample::Sint(1)),
        Some(Sample::Sint(0))
    );
    let a = m("map_ip", vec![st("/nets.map")]).unwrap();
    assert_eq!(
        run("map_ip", &a, Sample::Ipv4("10.1.2.3".parse().unwrap())),
        Some(s("lan"))
    );
    assert!(m("map", vec![st("/none")]).unwrap_err().is_invalid());
    assert!(m("map_str_int", vec![st("/bad_int.map")])
        .unwrap_err()
        .is_invalid());
    assert!(
        !prepare_map("map", vec![st("/hosts.map")], &Opts::default())
            .unwrap_err()
            .is_invalid()
    );
    let e = SampleExpr::parse_with("req.hdr(host),map_dom(/hosts.map,x)", &opts).unwrap();
    assert_eq!(e.out_type(), SmpType::Str);
}
