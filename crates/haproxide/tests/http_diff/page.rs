//! The page the real-client tests load (tests/real_clients.rs over HTTP/1.1,
//! tests/h2.rs over HTTP/2): HTML and script from one backend, stylesheet and
//! image from another; and the screenshot pixel reader.

use haproxide_testkit::recorder::Reply;

pub const PAGE: &str = "<!doctype html><html><head>\
<link rel=\"stylesheet\" href=\"/static/style.css\"><script src=\"/app.js\"></script></head>\
<body><div id=\"box\"></div><img id=\"img\" src=\"/static/red.svg\" width=\"100\" height=\"100\"></body></html>";
pub const CSS: &str = "html,body{margin:0;padding:0;background:#00ff00}\
#box{position:absolute;left:0;top:0;width:100px;height:100px;background:#0000ff}\
#img{position:absolute;left:150px;top:0}";
pub const JS: &str = "document.addEventListener('DOMContentLoaded',function(){\
var d=document.createElement('div');\
d.style.cssText='position:absolute;left:300px;top:0;width:100px;height:100px;background:#ffff00';\
document.body.appendChild(d);});";
pub const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"100\">\
<rect width=\"100\" height=\"100\" fill=\"#ff0000\"/></svg>";

pub fn ok(ctype: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nCache-Control: no-store\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub fn serve(req: &[u8]) -> Reply {
    let t = haproxide_testkit::http::target(req);
    let bytes = match t.as_str() {
        "/" => ok("text/html", PAGE),
        "/app.js" => ok("application/javascript", JS),
        "/static/style.css" => ok("text/css", CSS),
        "/static/red.svg" => ok("image/svg+xml", SVG),
        "/echo" => ok("text/plain", &format!("{} bytes", req.len())),
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
    };
    Reply::Send(bytes)
}

/// Decodes an 8-bit RGB/RGBA PNG (zlib from Python's standard library) and prints
/// the colour of each `x,y` given, as `rrggbb`, one a line.
pub const PIXELS_PY: &str = r#"
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat = 8, b''
while pos < len(data):
    ln, typ = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + ln]
    pos += 12 + ln
    if typ == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    elif typ == b'IDAT':
        idat += body
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
rows, prev, i = [], bytearray(stride), 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[x] = (line[x] + pr) & 255
    rows.append(line)
    prev = line
for arg in sys.argv[2:]:
    x, y = map(int, arg.split(','))
    print('%02x%02x%02x' % tuple(rows[y][x * bpp:x * bpp + 3]))
"#;
