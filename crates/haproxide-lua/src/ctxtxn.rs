//! A `lua.<name>` fetch called from an expression (a log-format value, a
//! condition, a `set-var`...): the script's `txn` reads the evaluation's
//! [`Context`] — the request head rebuilt from it, fetches and variables through
//! it. Variables cannot be set there (the expression engine reads only).

use haproxide_expr::{Context, Sample, SampleExpr};
use haproxide_http::script::{owned, ScriptTxn};
use haproxide_http::{Headers, RequestHead, ResponseHead, Version};

pub(crate) struct CtxTxn<'c> {
    req: RequestHead,
    ctx: &'c dyn Context,
}

impl<'c> CtxTxn<'c> {
    pub(crate) fn new(ctx: &'c dyn Context) -> CtxTxn<'c> {
        let mut headers = Headers::default();
        let mut i = 0;
        while let Some((n, v)) = ctx.http_req_header(i) {
            headers.push(n, v);
            i += 1;
        }
        let (major, minor) = ctx.http_req_version().unwrap_or((1, 1));
        CtxTxn {
            req: RequestHead {
                method: ctx.http_method().unwrap_or_default().to_vec(),
                uri: ctx.http_uri().unwrap_or_default().to_vec(),
                version: Version { major, minor },
                headers,
            },
            ctx,
        }
    }
}

impl ScriptTxn for CtxTxn<'_> {
    fn req(&self) -> &RequestHead {
        &self.req
    }
    fn req_mut(&mut self) -> Option<&mut RequestHead> {
        None
    }
    fn res(&self) -> Option<&ResponseHead> {
        None
    }
    fn res_mut(&mut self) -> Option<&mut ResponseHead> {
        None
    }
    fn body(&self) -> Option<&[u8]> {
        None
    }
    fn fetch(&self, expr: &str) -> Result<Option<Sample<'static>>, String> {
        let e = SampleExpr::parse(expr).map_err(|e| e.to_string())?;
        Ok(e.value(self.ctx).map(owned))
    }
    fn get_var(&self, name: &str) -> Option<Sample<'static>> {
        self.ctx.var(name).map(owned)
    }
    fn set_var(&mut self, _: &str, _: Sample<'_>) {}
    fn unset_var(&mut self, _: &str) {}
    fn frontend(&self) -> &str {
        ""
    }
}
