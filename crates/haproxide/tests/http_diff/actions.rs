//! Differential configurations and cases for the connection-level HTTP actions
//! (`set-src`, `set-src-port`, `set-dst`, `set-dst-port`: configuration.txt
//! §4.3), `errorfiles` with a list of codes and `errorfile` on /dev/null
//! (§4.2 "errorfile", "errorfiles", §12.4 "http-errors").

use super::cases::{c, g, get, Case};
use super::configs::{backends, cfg, error_page, head, Config};

pub fn configs() -> Vec<Config> {
    vec![
        // monitor-uri without `monitor fail` (§4.2), in defaults and frontend.
        cfg(
            "monitor_uri",
            &["web"],
            head("  monitor-uri /unused\n")
                + "frontend fe\n  bind 127.0.0.1:$fe\n  monitor-uri /healthz\n\
                   \x20 http-request deny if { path /healthz }\n  default_backend web\n"
                + &backends(&["web"]),
        ),
        Config {
        files: vec![
            ("403.http".into(), error_page(403, "sec 403\n")),
            ("503.http".into(), error_page(503, "sec 503\n")),
        ],
        ..cfg(
            "addr",
            &["web", "other"],
            head("")
                + "http-errors sec\n  errorfile 403 $dir/403.http\n  errorfile 503 $dir/503.http\n\
                   frontend fe\n  bind 127.0.0.1:$fe\n  option forwardfor\n\
                   \x20 errorfiles sec 403\n  errorfile 404 /dev/null\n\
                   \x20 http-request set-src hdr(x-real-ip) if { req.hdr(x-real-ip) -m found }\n\
                   \x20 http-request set-src-port int(4000) if { path /port }\n\
                   \x20 http-request set-dst str(10.1.2.3) if { path /dst }\n\
                   \x20 http-request set-dst-port int(8443) if { path /dst }\n\
                   \x20 http-request set-header X-Src %[src]\n\
                   \x20 http-request set-header X-Src-Port %[src_port] if { path /port }\n\
                   \x20 http-request set-header X-Dst %[dst]:%[dst_port] if { path /dst }\n\
                   \x20 http-request deny if { path /deny }\n\
                   \x20 http-request deny deny_status 404 if { path /null }\n\
                   \x20 use_backend other if { src 192.0.2.0/24 }\n\
                   \x20 use_backend nosrv if { path /nosrv }\n\
                   \x20 default_backend web\n"
                + &backends(&["web", "other"])
                + "backend nosrv\n",
        )
    },
    ]
}

pub fn cases() -> Vec<Case> {
    let m = "monitor_uri";
    let a = "addr";
    vec![
        g(
            m,
            "monitor-uri before the rules, not logged",
            "200",
            "/healthz",
            "",
        ),
        g(
            m,
            "monitor-uri with a query is not it",
            "403",
            "/healthz?x=1",
            "",
        ),
        g(
            m,
            "the defaults' monitor-uri is replaced",
            "200",
            "/unused",
            "",
        ),
        c(
            m,
            "monitor-uri on HTTP/1.0",
            "200",
            b"GET /healthz HTTP/1.0\r\n\r\n",
        ),
        c(
            m,
            "monitor-uri to HEAD",
            "200",
            b"HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        c(
            m,
            "monitor-uri absolute-form",
            "200",
            b"GET http://a/healthz HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        c(
            m,
            "monitor-uri then a request on the same connection",
            "200 200",
            &[get("/healthz", ""), get("/", "")].concat(),
        ),
        g(a, "no set-src", "200", "/", ""),
        g(
            a,
            "set-src from a header routes and forwards",
            "200",
            "/",
            "X-Real-IP: 192.0.2.9\r\n",
        ),
        g(a, "set-src IPv6", "200", "/", "X-Real-IP: 2001:db8::5\r\n"),
        g(
            a,
            "set-src garbage keeps the address",
            "200",
            "/",
            "X-Real-IP: nope\r\n",
        ),
        g(a, "set-src-port", "200", "/port", ""),
        g(a, "set-dst and set-dst-port", "200", "/dst", ""),
        c(
            a,
            "set-src holds for the next request of the connection",
            "200 200",
            &[get("/", "X-Real-IP: 192.0.2.9\r\n"), get("/", "")].concat(),
        ),
        g(a, "errorfiles sec 403", "403", "/deny", ""),
        g(
            a,
            "errorfiles sec 403 only: 503 is the default page",
            "503",
            "/nosrv",
            "",
        ),
        g(a, "errorfile /dev/null: nothing sent", "", "/null", ""),
        c(
            a,
            "errorfiles 403 to HEAD",
            "403",
            b"HEAD /deny HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        c(
            a,
            "503 to HEAD",
            "503",
            b"HEAD /nosrv HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        c(a, "503 to HTTP/1.0", "503", b"GET /nosrv HTTP/1.0\r\n\r\n"),
    ]
}
