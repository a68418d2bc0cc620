use super::*;
use crate::head::Headers;

fn hdrs(list: &[(&str, &str)]) -> Headers {
    let mut h = Headers::default();
    for (n, v) in list {
        h.push(n.as_bytes(), v.as_bytes());
    }
    h
}

fn vals(h: &Headers, name: &str) -> Vec<String> {
    h.get_all(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn spec(mode: CookieMode, indirect: bool) -> CookieSpec {
    CookieSpec {
        name: "SRV".into(),
        mode,
        indirect,
        ..CookieSpec::default()
    }
}

const S: [ServerCookie<'static>; 2] = [
    ServerCookie {
        cookie: Some(b"s1"),
        up: true,
    },
    ServerCookie {
        cookie: Some(b"s2"),
        up: false,
    },
];

#[test]
fn insert_indirect_removes_the_cookie_and_keeps_others() {
    let sp = spec(CookieMode::Insert, true);
    for (input, left) in [
        ("SRV=s1", None),
        ("a=1; SRV=s1", Some("a=1")),
        ("SRV=s1; a=1", Some("a=1")),
        ("a=1; SRV=s1; b=2", Some("a=1; b=2")),
        ("a=1;SRV=s1;b=2", Some("a=1; b=2")),
    ] {
        let mut h = hdrs(&[("Cookie", input)]);
        let c = client_side(&sp, &mut h, &S, PersistFlags::default(), 0);
        assert_eq!(c.server, Some(0), "{input}");
        assert_eq!(c.state, b'V');
        assert_eq!(
            vals(&h, "cookie").first().map(String::as_str),
            left,
            "{input}"
        );
    }
}

#[test]
fn states_of_the_request_cookie() {
    let sp = spec(CookieMode::Insert, false);
    let run = |v: &str, f: PersistFlags| {
        let mut h = hdrs(&[("Cookie", v)]);
        client_side(&sp, &mut h, &S, f, 0)
    };
    assert_eq!(run("x=1", PersistFlags::default()).state, b'N');
    assert_eq!(run("SRV=zz", PersistFlags::default()).state, b'I');
    let down = run("SRV=s2", PersistFlags::default());
    assert_eq!((down.state, down.server), (b'D', None));
    let persist = PersistFlags {
        persist: true,
        ..PersistFlags::default()
    };
    assert_eq!(run("SRV=s2", persist).server, Some(1));
    let ignore = PersistFlags {
        ignore: true,
        ..PersistFlags::default()
    };
    assert_eq!(run("SRV=s1", ignore).state, b'U');
}

#[test]
fn prefix_mode_strips_and_adds_the_server_id() {
    let sp = CookieSpec {
        name: "JSESSIONID".into(),
        mode: CookieMode::Prefix,
        ..CookieSpec::default()
    };
    let mut h = hdrs(&[("Cookie", "JSESSIONID=s1~abc; x=y")]);
    let c = client_side(&sp, &mut h, &S, PersistFlags::default(), 0);
    assert_eq!(c.server, Some(0));
    assert_eq!(vals(&h, "cookie"), ["JSESSIONID=abc; x=y"]);
    let mut r = hdrs(&[("Set-Cookie", "JSESSIONID=abc; path=/")]);
    assert_eq!(server_side(&sp, &mut r, Some(b"s1"), true, false), b'R');
    assert_eq!(vals(&r, "set-cookie"), ["JSESSIONID=s1~abc; path=/"]);
}

#[test]
fn rewrite_and_insert_on_the_response() {
    let sp = spec(CookieMode::Rewrite, false);
    let mut r = hdrs(&[("Set-Cookie", "SRV=xxx; path=/")]);
    assert_eq!(server_side(&sp, &mut r, Some(b"s2"), false, false), b'R');
    assert_eq!(vals(&r, "set-cookie"), ["SRV=s2; path=/"]);
    // Insert: the server's own cookie is deleted, HAProxy's added.
    let sp = CookieSpec {
        domain: Some("a.example; domain=b.example".into()),
        httponly: true,
        secure: true,
        nocache: true,
        attrs: Some("SameSite=Lax".into()),
        ..spec(CookieMode::Insert, true)
    };
    let mut r = hdrs(&[("Set-Cookie", "SRV=old"), ("X", "1")]);
    let st = server_side(&sp, &mut r, Some(b"s1"), false, false);
    assert_eq!(st, b'D');
    let client = ClientCookie {
        server: None,
        state: b'N',
        first_date: 0,
        last_date: 0,
    };
    let ctx = InsertCtx {
        server_cookie: Some(b"s1"),
        client,
        set_state: st,
        is_post: false,
        ignore: false,
        cacheable: true,
        now: 0,
    };
    assert_eq!(insert(&sp, &mut r, ctx), b'I');
    assert_eq!(
        vals(&r, "set-cookie"),
        ["SRV=s1; path=/; domain=a.example; domain=b.example; HttpOnly; Secure; SameSite=Lax"]
    );
    assert_eq!(vals(&r, "cache-control"), ["private"]);
    // A valid cookie without dates: nothing to add.
    let direct = InsertCtx {
        client: ClientCookie {
            server: Some(0),
            state: b'V',
            ..client
        },
        set_state: b'N',
        ..ctx
    };
    let mut r = Headers::default();
    assert_eq!(insert(&sp, &mut r, direct), b'N');
    assert!(r.is_empty());
}

#[test]
fn dates_round_trip_and_expire() {
    let now = 1_700_000_000u32;
    let sp = CookieSpec {
        maxidle: 60,
        maxlife: 3600,
        ..spec(CookieMode::Insert, false)
    };
    let mut r = Headers::default();
    let ctx = InsertCtx {
        server_cookie: Some(b"s1"),
        client: ClientCookie {
            server: None,
            state: b'N',
            first_date: 0,
            last_date: 0,
        },
        set_state: b'N',
        is_post: false,
        ignore: false,
        cacheable: false,
        now,
    };
    insert(&sp, &mut r, ctx);
    let sc = vals(&r, "set-cookie")[0].clone();
    let value = sc.split(';').next().unwrap_or_default().to_string();
    let mut h = hdrs(&[("Cookie", &value)]);
    let c = client_side(&sp, &mut h, &S, PersistFlags::default(), now + 10);
    assert_eq!(c.state, b'V');
    assert_eq!(c.last_date, (now + 3) & !3);
    let mut h = hdrs(&[("Cookie", &value)]);
    let c = client_side(&sp, &mut h, &S, PersistFlags::default(), now + 100);
    assert_eq!((c.state, c.server), (b'E', None));
    assert_eq!(b64tos30(b"AAAAB"), 1);
}
