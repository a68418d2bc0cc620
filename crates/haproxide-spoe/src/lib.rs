//! haproxide-spoe: HAProxy's Stream Processing Offload Engine (`filter spoe`,
//! configuration.txt §9.3; doc/SPOE.txt). An [`Engine`] is one `filter spoe`
//! line: its messages (sent on an event, or by `send-spoe-group`) are
//! evaluated against the stream through the expression engine
//! ([`haproxide_expr::Context`]), sent in one NOTIFY frame to the agent
//! ([`client::Agent`]), and the ACK's `set-var`/`unset-var` actions come back as
//! [`VarOp`]s the caller applies to the stream's variables. Errors never reach
//! the client stream: they become the `set-on-error` variable and, without
//! `option continue-on-error`, end SPOE processing for the transaction.

#![forbid(unsafe_code)]

pub mod client;
pub mod frame;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use haproxide_expr::{Cond, Context, Sample, SampleExpr, Tri};

pub use client::{Addr, Agent, AgentSpec, Failure, Servers};
pub use frame::{Message, Value};

/// SPOE events (SPOE.txt §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    ClientSession,
    FrontendTcpRequest,
    BackendTcpRequest,
    ServerSession,
    TcpResponse,
    FrontendHttpRequest,
    BackendHttpRequest,
    HttpResponse,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::ClientSession => "on-client-session",
            Event::FrontendTcpRequest => "on-frontend-tcp-request",
            Event::BackendTcpRequest => "on-backend-tcp-request",
            Event::ServerSession => "on-server-session",
            Event::TcpResponse => "on-tcp-response",
            Event::FrontendHttpRequest => "on-frontend-http-request",
            Event::BackendHttpRequest => "on-backend-http-request",
            Event::HttpResponse => "on-http-response",
        }
    }
}

/// A `spoe-message`.
#[derive(Debug, Clone)]
pub struct MessageSpec {
    pub name: String,
    pub args: Vec<(String, SampleExpr)>,
    pub event: Option<Event>,
    pub cond: Option<Cond>,
}

/// A `spoe-group`: indexes into [`EngineSpec::messages`].
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub name: String,
    pub messages: Vec<usize>,
}

/// One `filter spoe` line, typed.
#[derive(Debug, Clone)]
pub struct EngineSpec {
    /// The engine name (`send-spoe-group <engine> <group>`).
    pub id: String,
    pub agent: AgentSpec,
    /// The agent backend's name (bound to its servers by the engine).
    pub backend: String,
    pub messages: Vec<MessageSpec>,
    pub groups: Vec<GroupSpec>,
    pub var_prefix: String,
    pub set_on_error: Option<String>,
    pub set_process_time: Option<String>,
    pub set_total_time: Option<String>,
    pub continue_on_error: bool,
    pub force_set_var: bool,
    /// Full variable names (`txn.pfx.name`) an agent may set: the ones the
    /// configuration mentions; plus `register-var-names` (names without scope
    /// or prefix: registered in every scope under the prefix).
    pub known_vars: BTreeSet<String>,
    pub register_var_names: BTreeSet<String>,
}

/// A change to the stream's variables (full name, e.g. `txn.pfx.score`).
#[derive(Debug, Clone, PartialEq)]
pub enum VarOp {
    Set(String, Sample<'static>),
    Unset(String),
}

/// What one event or group processing produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub vars: Vec<VarOp>,
    /// The processing failed: SPOE is off for the rest of the transaction
    /// (unless `option continue-on-error`).
    pub failed: bool,
}

/// The per-transaction SPOE state of one engine.
#[derive(Debug, Clone, Copy, Default)]
pub struct TxnState {
    /// An error ended SPOE processing for this transaction.
    pub disabled: bool,
    /// Sum of processing times (`set-total-time`).
    pub total: Duration,
}

/// A runtime engine: its spec and its agent's connections.
#[derive(Debug)]
pub struct Engine {
    pub spec: EngineSpec,
    pub agent: Arc<Agent>,
}

fn value_of(s: Option<Sample<'_>>) -> Value {
    match s {
        None => Value::Null,
        Some(Sample::Bool(b)) => Value::Bool(b),
        Some(Sample::Sint(i)) => Value::Int64(i),
        Some(Sample::Ipv4(a)) => Value::Ipv4(a),
        Some(Sample::Ipv6(a)) => Value::Ipv6(a),
        Some(Sample::Str(s)) | Some(Sample::Meth(s)) => Value::Str(s.into_owned()),
        Some(Sample::Bin(s)) => Value::Bin(s.into_owned()),
    }
}

fn sample_of(v: Value) -> Option<Sample<'static>> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => Sample::Bool(b),
        Value::Int32(i) => Sample::Sint(i64::from(i)),
        Value::Uint32(i) => Sample::Sint(i64::from(i)),
        Value::Int64(i) => Sample::Sint(i),
        Value::Uint64(i) => Sample::Sint(i as i64),
        Value::Ipv4(a) => Sample::Ipv4(a),
        Value::Ipv6(a) => Sample::Ipv6(a),
        Value::Str(s) => Sample::Str(s.into()),
        Value::Bin(s) => Sample::Bin(s.into()),
    })
}

impl Engine {
    pub fn new(spec: EngineSpec) -> Engine {
        let agent = Arc::new(Agent::new(spec.agent.clone()));
        Engine { spec, agent }
    }

    /// Whether a message is sent on `ev`.
    pub fn has_event(&self, ev: Event) -> bool {
        self.spec.messages.iter().any(|m| m.event == Some(ev))
    }

    fn encode(m: &MessageSpec, ctx: &dyn Context) -> Message {
        Message {
            name: m.name.clone(),
            args: m
                .args
                .iter()
                .map(|(n, e)| (n.clone(), value_of(e.value(ctx))))
                .collect(),
        }
    }

    /// The messages of `ev` whose condition holds, evaluated on `ctx`.
    pub fn event_messages(&self, ev: Event, ctx: &dyn Context) -> Vec<Message> {
        self.spec
            .messages
            .iter()
            .filter(|m| m.event == Some(ev))
            .filter(|m| m.cond.as_ref().is_none_or(|c| c.eval(ctx) == Tri::Pass))
            .map(|m| Self::encode(m, ctx))
            .collect()
    }

    /// The messages of group `name` evaluated on `ctx`; `None` for no such group.
    pub fn group_messages(&self, name: &str, ctx: &dyn Context) -> Option<Vec<Message>> {
        let g = self.spec.groups.iter().find(|g| g.name == name)?;
        Some(
            g.messages
                .iter()
                .filter_map(|&i| self.spec.messages.get(i))
                .map(|m| Self::encode(m, ctx))
                .collect(),
        )
    }

    fn allowed(&self, full: &str, scope: &str) -> bool {
        self.spec.force_set_var
            || self.spec.known_vars.contains(full)
            || full
                .strip_prefix(scope)
                .and_then(|r| r.strip_prefix('.'))
                .and_then(|r| r.strip_prefix(self.spec.var_prefix.as_str()))
                .and_then(|r| r.strip_prefix('.'))
                .is_some_and(|r| self.spec.register_var_names.contains(r))
    }

    fn var(&self, scope: &str, name: &str) -> String {
        format!("{scope}.{}.{name}", self.spec.var_prefix)
    }

    /// Sends `msgs` (nothing when empty or SPOE is off for the transaction)
    /// and turns the answer into variable changes (SPOE.txt §3.4: unknown
    /// variables are ignored), with `set-on-error`, `set-process-time` and
    /// `set-total-time`.
    pub async fn process(&self, msgs: Vec<Message>, st: &mut TxnState) -> Outcome {
        let mut out = Outcome {
            vars: Vec::new(),
            failed: false,
        };
        if msgs.is_empty() || st.disabled {
            return out;
        }
        let t0 = Instant::now();
        let r = self.agent.exchange(&msgs).await;
        let took = t0.elapsed();
        st.total += took;
        match r {
            Ok(actions) => {
                for a in actions {
                    let (scope, name, value) = match a {
                        frame::Action::SetVar { scope, name, value } => (scope, name, Some(value)),
                        frame::Action::UnsetVar { scope, name } => (scope, name, None),
                    };
                    let Ok(name) = String::from_utf8(name) else {
                        continue;
                    };
                    let full = self.var(scope.prefix(), &name);
                    if !self.allowed(&full, scope.prefix()) {
                        continue;
                    }
                    match value {
                        Some(v) => {
                            if let Some(s) = sample_of(v) {
                                out.vars.push(VarOp::Set(full, s));
                            }
                        }
                        None => out.vars.push(VarOp::Unset(full)),
                    }
                }
            }
            Err(f) => {
                out.failed = true;
                if !self.spec.continue_on_error {
                    st.disabled = true;
                }
                if let Some(e) = &self.spec.set_on_error {
                    out.vars
                        .push(VarOp::Set(self.var("txn", e), Sample::Sint(i64::from(f.0))));
                }
            }
        }
        let ms = |d: Duration| Sample::Sint(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        if let Some(v) = &self.spec.set_process_time {
            out.vars.push(VarOp::Set(self.var("txn", v), ms(took)));
        }
        if let Some(v) = &self.spec.set_total_time {
            out.vars.push(VarOp::Set(self.var("txn", v), ms(st.total)));
        }
        out
    }
}

#[cfg(test)]
mod tests;
