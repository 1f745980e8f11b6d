//! Refuses chat templates that could make a cyclic value.
//!
//! minijinja's values are immutable except one: a `namespace()`, whose attributes
//! `{% set ns.x = … %}` assigns. Storing a namespace inside itself (`{% set ns.n = [ns] %}`,
//! or through an alias) makes a cycle, and printing, comparing or serializing it recurses
//! until the stack overflows: an abort natively, a dead instance in wasm. No fuel is spent
//! there, so the render limits cannot stop it; the template is checked once, before it is
//! compiled.
//!
//! The rule keeps an invariant: **no namespace attribute ever holds a value from which a
//! namespace can be reached.** Then no cycle exists (lists and maps cannot change after they
//! are made, so every cycle would pass through a namespace attribute). Every assignment to an
//! attribute and every `namespace(…)` argument must therefore be *clean*. Which values may
//! reach a namespace is tracked by variable name over the whole template (flow- and
//! scope-insensitive, so shadowing and loops only make it stricter), until nothing changes.
//! `namespace` itself may only be called, never used as a value or rebound, so every
//! namespace comes from a call this check sees.
//!
//! Real chat templates keep flags, strings and lists of messages in namespaces, which passes.

use crate::error::{AttuneError, Result};
use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, Stmt};
use minijinja::syntax::SyntaxConfig;
use std::collections::HashMap;

/// What a value may reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Reach {
    /// No namespace is reachable from it.
    #[default]
    Clean,
    /// Exactly a namespace made by `namespace(…)`: its attributes are clean (the invariant).
    Namespace,
    /// Anything, a namespace included, possibly nested.
    Any,
}

impl Reach {
    fn join(self, other: Reach) -> Reach {
        match (self, other) {
            (a, b) if a == b => a,
            (Reach::Clean, r) | (r, Reach::Clean) => r,
            _ => Reach::Any,
        }
    }

    /// A value built from this one (an element, a list holding it, a method's result).
    fn container(self) -> Reach {
        if self == Reach::Clean {
            Reach::Clean
        } else {
            Reach::Any
        }
    }
}

/// Filters whose result is a string, number or boolean, whatever their input.
const SCALAR_FILTERS: &[&str] = &[
    "length", "count", "string", "lower", "upper", "title", "capitalize", "trim", "int", "float",
    "abs", "bool", "round", "tojson", "escape", "e", "safe", "urlencode", "wordcount", "replace",
    "indent", "format", "join", "center", "striptags", "truncate", "pprint", "sum",
];

const NAMESPACE: &str = "namespace";

/// Checks `source` (which must parse with `syntax`; a syntax error is left to the compiler).
pub fn check_namespace_cycles(source: &str, syntax: SyntaxConfig) -> Result<()> {
    let Ok(ast) = minijinja::machinery::parse(source, "chat_template", syntax) else {
        return Ok(());
    };
    let mut check = Check::default();
    loop {
        check.changed = false;
        check.stmt(&ast)?;
        if !check.changed {
            return Ok(());
        }
    }
}

#[derive(Default)]
struct Check<'a> {
    vars: HashMap<&'a str, Reach>,
    /// What `loop(…)` passes to a recursive loop's next level (its target's next value).
    recursive_args: Reach,
    changed: bool,
}

fn refuse(what: &str) -> AttuneError {
    AttuneError::ChatTemplate(format!(
        "{what}: a namespace may not hold a namespace (that could make a cyclic value)"
    ))
}

impl<'a> Check<'a> {
    fn bind(&mut self, name: &'a str, reach: Reach) -> Result<()> {
        if name == NAMESPACE {
            return Err(AttuneError::ChatTemplate("the template rebinds `namespace`".into()));
        }
        let old = self.vars.get(name).copied().unwrap_or_default();
        let new = old.join(reach);
        if new != old {
            self.vars.insert(name, new);
            self.changed = true;
        }
        Ok(())
    }

    /// Assigns a value of `reach` to `target` (a name, an attribute, or a tuple of them; each
    /// part of a tuple gets an element of the value).
    fn assign(&mut self, target: &Expr<'a>, reach: Reach) -> Result<()> {
        match target {
            Expr::Var(v) => self.bind(v.id, reach),
            Expr::GetAttr(a) => {
                self.expr(&a.expr)?;
                if reach == Reach::Clean {
                    Ok(())
                } else {
                    Err(refuse(&format!("`set ….{} = …`", a.name)))
                }
            }
            // `a, b = …` (the parser gives a list of targets)
            Expr::List(l) => self.assign_each(&l.items, reach),
            Expr::Tuple(t) => self.assign_each(&t.items, reach),
            _ => Ok(()), // not an assignable target: the compiler refuses it
        }
    }

    fn assign_each(&mut self, targets: &[Expr<'a>], reach: Reach) -> Result<()> {
        targets.iter().try_for_each(|t| self.assign(t, reach.container()))
    }

    fn stmts(&mut self, stmts: &[Stmt<'a>]) -> Result<()> {
        stmts.iter().try_for_each(|s| self.stmt(s))
    }

    #[allow(unreachable_patterns)] // the statements of minijinja features this crate leaves off
    fn stmt(&mut self, stmt: &Stmt<'a>) -> Result<()> {
        match stmt {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr).map(drop),
            Stmt::EmitRaw(_) | Stmt::Continue(_) | Stmt::Break(_) => Ok(()),
            Stmt::ForLoop(f) => {
                // Iterating a namespace gives its keys (strings).
                let element = match self.expr(&f.iter)? {
                    Reach::Namespace => Reach::Clean,
                    r => r.container(),
                };
                let element = if f.recursive { element.join(self.recursive_args.container()) } else { element };
                self.assign(&f.target, element)?;
                self.bind("loop", element.container())?; // loop.previtem, loop.nextitem
                if let Some(filter) = &f.filter_expr {
                    self.expr(filter)?;
                }
                self.stmts(&f.body)?;
                self.stmts(&f.else_body)
            }
            Stmt::IfCond(c) => {
                self.expr(&c.expr)?;
                self.stmts(&c.true_body)?;
                self.stmts(&c.false_body)
            }
            Stmt::WithBlock(w) => {
                for (target, value) in &w.assignments {
                    let reach = self.expr(value)?;
                    self.assign(target, reach)?;
                }
                self.stmts(&w.body)
            }
            Stmt::Set(s) => {
                let reach = self.expr(&s.expr)?;
                self.assign(&s.target, reach)
            }
            Stmt::SetBlock(s) => {
                if let Some(filter) = &s.filter {
                    self.expr(filter)?;
                }
                self.stmts(&s.body)?;
                self.assign(&s.target, Reach::Clean) // the captured text
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled)?;
                self.stmts(&a.body)
            }
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter)?;
                self.stmts(&f.body)
            }
            Stmt::Do(d) => self.call(&d.call.expr, &d.call.args).map(drop),
            _ => Err(AttuneError::ChatTemplate("the template uses an unsupported statement".into())),
        }
    }

    fn args(&mut self, args: &[CallArg<'a>]) -> Result<Reach> {
        let mut reach = Reach::Clean;
        for arg in args {
            let (CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e)) = arg;
            reach = reach.join(self.expr(e)?);
        }
        Ok(reach)
    }

    fn call(&mut self, callee: &Expr<'a>, args: &[CallArg<'a>]) -> Result<Reach> {
        let args_reach = self.args(args)?;
        match callee {
            Expr::Var(v) if v.id == NAMESPACE => {
                if args_reach == Reach::Clean {
                    Ok(Reach::Namespace)
                } else {
                    Err(refuse("`namespace(…)`"))
                }
            }
            Expr::Var(v) if v.id == "loop" => {
                // A recursive loop's next level: the rendered text comes back.
                let old = self.recursive_args;
                self.recursive_args = old.join(args_reach);
                self.changed |= self.recursive_args != old;
                Ok(Reach::Clean)
            }
            _ => Ok(self.expr(callee)?.join(args_reach).container()),
        }
    }

    fn expr(&mut self, expr: &Expr<'a>) -> Result<Reach> {
        Ok(match expr {
            Expr::Var(v) if v.id == NAMESPACE => {
                return Err(AttuneError::ChatTemplate(
                    "`namespace` may only be called, not used as a value".into(),
                ))
            }
            Expr::Var(v) => self.vars.get(v.id).copied().unwrap_or_default(),
            Expr::Const(_) => Reach::Clean,
            Expr::Slice(s) => {
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part)?;
                }
                self.expr(&s.expr)?.container()
            }
            Expr::UnaryOp(u) => {
                self.expr(&u.expr)?;
                Reach::Clean // `not` and `-` give booleans and numbers
            }
            Expr::BinOp(b) => {
                let (l, r) = (self.expr(&b.left)?, self.expr(&b.right)?);
                match b.op {
                    BinOpKind::ScAnd | BinOpKind::ScOr => l.join(r), // gives one of its operands
                    BinOpKind::Concat | BinOpKind::In => Reach::Clean,
                    BinOpKind::Eq | BinOpKind::Ne | BinOpKind::Lt | BinOpKind::Lte => Reach::Clean,
                    BinOpKind::Gt | BinOpKind::Gte => Reach::Clean,
                    _ => l.join(r).container(), // `+` and `*` join and repeat lists
                }
            }
            Expr::Compare(c) => {
                self.expr(&c.expr)?;
                for op in &c.ops {
                    self.expr(&op.expr)?;
                }
                Reach::Clean
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr)?;
                let t = self.expr(&i.true_expr)?;
                match &i.false_expr {
                    Some(f) => t.join(self.expr(f)?),
                    None => t,
                }
            }
            Expr::Filter(f) => {
                let input = match &f.expr {
                    Some(e) => self.expr(e)?,
                    None => Reach::Clean,
                };
                let args = self.args(&f.args)?;
                if SCALAR_FILTERS.contains(&f.name) {
                    Reach::Clean
                } else {
                    input.join(args).container()
                }
            }
            Expr::Test(t) => {
                self.expr(&t.expr)?;
                self.args(&t.args)?;
                Reach::Clean
            }
            // A namespace's attributes are clean (the invariant); anything else's may not be.
            Expr::GetAttr(a) => match self.expr(&a.expr)? {
                Reach::Namespace => Reach::Clean,
                r => r,
            },
            Expr::GetItem(g) => {
                self.expr(&g.subscript_expr)?;
                match self.expr(&g.expr)? {
                    Reach::Namespace => Reach::Clean,
                    r => r,
                }
            }
            Expr::Call(c) => self.call(&c.expr, &c.args)?,
            Expr::List(l) => self.items(&l.items)?,
            Expr::Tuple(t) => self.items(&t.items)?,
            Expr::Map(m) => {
                let keys = self.items(&m.keys)?;
                keys.join(self.items(&m.values)?)
            }
        })
    }

    fn items(&mut self, items: &[Expr<'a>]) -> Result<Reach> {
        let mut reach = Reach::Clean;
        for item in items {
            reach = reach.join(self.expr(item)?);
        }
        Ok(reach.container())
    }
}
