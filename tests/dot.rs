//! The DOT export, checked structurally: the output is parsed by a small DOT parser below
//! (nodes, edges, clusters, attributes) and the picture of hand-built resolvers is compared
//! with what each trap should look like.

use std::collections::BTreeMap;

use idstitch::{
    CustomerId, DotOptions, KindId, KindPolicy, KindSpec, Normalizer, RecordInput, Resolver,
    SourceId,
};

/// A minimal parser for the DOT subset the export writes: `graph NAME { … }` with
/// `subgraph`, attribute statements, `a = b` assignments, node statements and single edges.
mod dotparse {
    use std::collections::BTreeMap;

    pub type Attrs = BTreeMap<String, String>;

    #[derive(Debug)]
    pub struct Node {
        pub attrs: Attrs,
        /// The innermost cluster holding the node.
        pub cluster: Option<String>,
    }

    #[derive(Debug)]
    pub struct Cluster {
        pub attrs: Attrs,
        pub parent: Option<String>,
    }

    #[derive(Debug)]
    pub struct Edge {
        pub a: String,
        pub b: String,
        pub attrs: Attrs,
    }

    #[derive(Debug, Default)]
    pub struct Graph {
        pub name: String,
        pub attrs: Attrs,
        /// In declaration order.
        pub node_order: Vec<String>,
        pub nodes: BTreeMap<String, Node>,
        pub edges: Vec<Edge>,
        pub clusters: BTreeMap<String, Cluster>,
    }

    #[derive(Clone, Debug, PartialEq)]
    enum Tok {
        /// A bare identifier or number.
        Id(String),
        /// A quoted string, with `\"` unescaped and every other backslash kept (as Graphviz's
        /// scanner does; label escapes are decoded by [`text`]).
        Str(String),
        Sym(&'static str),
    }

    fn lex(input: &str) -> Vec<Tok> {
        let mut toks = Vec::new();
        let mut chars = input.chars().peekable();
        while let Some(&c) = chars.peek() {
            match c {
                c if c.is_whitespace() => {
                    chars.next();
                }
                '"' => {
                    chars.next();
                    let mut s = String::new();
                    loop {
                        match chars.next() {
                            None => panic!("unterminated string: {s:?}"),
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some('"') => s.push('"'),
                                Some(e) => {
                                    s.push('\\');
                                    s.push(e);
                                }
                                None => panic!("unterminated string: {s:?}"),
                            },
                            Some(c) => {
                                assert!(!c.is_control(), "raw control character in a string");
                                s.push(c);
                            }
                        }
                    }
                    toks.push(Tok::Str(s));
                }
                '-' => {
                    chars.next();
                    assert_eq!(chars.next(), Some('-'), "only `--` starts with '-'");
                    toks.push(Tok::Sym("--"));
                }
                '{' | '}' | '[' | ']' | '=' | ',' | ';' => {
                    chars.next();
                    toks.push(Tok::Sym(match c {
                        '{' => "{",
                        '}' => "}",
                        '[' => "[",
                        ']' => "]",
                        '=' => "=",
                        ',' => ",",
                        _ => ";",
                    }));
                }
                c if c.is_ascii_alphanumeric() || c == '_' || c == '.' => {
                    let mut s = String::new();
                    while let Some(&c) = chars.peek() {
                        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                            s.push(c);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    toks.push(Tok::Id(s));
                }
                c => panic!("unexpected character {c:?}"),
            }
        }
        toks
    }

    struct Parser {
        toks: Vec<Tok>,
        pos: usize,
        graph: Graph,
    }

    impl Parser {
        fn next(&mut self) -> Tok {
            let t = self.toks.get(self.pos).cloned().expect("unexpected end of input");
            self.pos += 1;
            t
        }

        fn peek(&self) -> Option<&Tok> {
            self.toks.get(self.pos)
        }

        fn expect(&mut self, sym: &'static str) {
            assert_eq!(self.next(), Tok::Sym(sym));
        }

        fn id(&mut self) -> String {
            match self.next() {
                Tok::Id(s) | Tok::Str(s) => s,
                t => panic!("expected an id, got {t:?}"),
            }
        }

        /// `[a=b, c=d]`, or nothing.
        fn attrs(&mut self) -> Attrs {
            let mut attrs = Attrs::new();
            if self.peek() != Some(&Tok::Sym("[")) {
                return attrs;
            }
            self.expect("[");
            loop {
                if self.peek() == Some(&Tok::Sym("]")) {
                    self.pos += 1;
                    return attrs;
                }
                let k = self.id();
                self.expect("=");
                let v = self.id();
                assert!(attrs.insert(k.clone(), v).is_none(), "attribute {k} twice");
                if self.peek() == Some(&Tok::Sym(",")) {
                    self.pos += 1;
                }
            }
        }

        fn stmts(&mut self, cluster: Option<String>) {
            loop {
                match self.next() {
                    Tok::Sym("}") => return,
                    Tok::Sym(";") => {}
                    Tok::Id(s) if s == "subgraph" => {
                        let name = self.id();
                        self.expect("{");
                        let c = Cluster { attrs: Attrs::new(), parent: cluster.clone() };
                        assert!(self.graph.clusters.insert(name.clone(), c).is_none());
                        self.stmts(Some(name));
                    }
                    Tok::Id(s)
                        if matches!(s.as_str(), "graph" | "node" | "edge")
                            && self.peek() == Some(&Tok::Sym("[")) =>
                    {
                        let attrs = self.attrs();
                        if s == "graph" && cluster.is_none() {
                            self.graph.attrs.extend(attrs);
                        }
                    }
                    Tok::Id(a) | Tok::Str(a) => match self.peek() {
                        Some(Tok::Sym("=")) => {
                            self.pos += 1;
                            let v = self.id();
                            let attrs = match &cluster {
                                Some(c) => &mut self.graph.clusters.get_mut(c).unwrap().attrs,
                                None => &mut self.graph.attrs,
                            };
                            attrs.insert(a, v);
                        }
                        Some(Tok::Sym("--")) => {
                            self.pos += 1;
                            let b = self.id();
                            let attrs = self.attrs();
                            self.graph.edges.push(Edge { a, b, attrs });
                        }
                        _ => {
                            let attrs = self.attrs();
                            let node = Node { attrs, cluster: cluster.clone() };
                            assert!(
                                self.graph.nodes.insert(a.clone(), node).is_none(),
                                "{a} twice"
                            );
                            self.graph.node_order.push(a);
                        }
                    },
                    t => panic!("unexpected {t:?}"),
                }
            }
        }
    }

    /// Parses the export and checks that every edge joins declared nodes.
    pub fn parse(input: &str) -> Graph {
        let mut p = Parser { toks: lex(input), pos: 0, graph: Graph::default() };
        assert_eq!(p.next(), Tok::Id("graph".into()), "an undirected graph");
        p.graph.name = p.id();
        p.expect("{");
        p.stmts(None);
        assert_eq!(p.peek(), None, "nothing after the graph");
        for e in &p.graph.edges {
            assert!(p.graph.nodes.contains_key(&e.a), "edge from undeclared {}", e.a);
            assert!(p.graph.nodes.contains_key(&e.b), "edge to undeclared {}", e.b);
        }
        p.graph
    }

    /// A label as Graphviz shows it: `\\` is a backslash and `\n` a line break. Any other
    /// escape (`\N`, `\G`, `\l`…) would be expanded by Graphviz, so the export must never
    /// write one.
    pub fn text(label: &str) -> String {
        let mut out = String::new();
        let mut chars = label.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                e => panic!("Graphviz escape \\{e:?} in {label:?}"),
            }
        }
        out
    }

    impl Graph {
        /// The id of the node whose label reads `label`.
        pub fn node(&self, label: &str) -> &str {
            let found: Vec<&String> = self
                .nodes
                .iter()
                .filter(|(_, n)| n.attrs.get("label").map(|l| text(l)).as_deref() == Some(label))
                .map(|(id, _)| id)
                .collect();
            assert_eq!(found.len(), 1, "one node labelled {label:?}, got {found:?}");
            found[0]
        }

        pub fn has_node(&self, label: &str) -> bool {
            self.nodes
                .values()
                .any(|n| n.attrs.get("label").map(|l| text(l)).as_deref() == Some(label))
        }

        pub fn attr(&self, node: &str, name: &str) -> Option<&str> {
            self.nodes[node].attrs.get(name).map(String::as_str)
        }

        /// The edge between two nodes (in either direction).
        pub fn edge(&self, a: &str, b: &str) -> &Edge {
            let found: Vec<&Edge> = self
                .edges
                .iter()
                .filter(|e| (e.a == a && e.b == b) || (e.a == b && e.b == a))
                .collect();
            assert_eq!(found.len(), 1, "one edge {a} -- {b}");
            found[0]
        }

        pub fn degree(&self, node: &str) -> usize {
            self.edges.iter().filter(|e| e.a == node || e.b == node).count()
        }

        /// The label of the innermost cluster holding `node`.
        pub fn cluster_label(&self, node: &str) -> Option<String> {
            let c = self.nodes[node].cluster.as_ref()?;
            self.clusters[c].attrs.get("label").map(|l| text(l))
        }

        /// Ids of nodes whose id starts with `prefix`, in declaration order.
        pub fn ids(&self, prefix: &str) -> Vec<&str> {
            self.node_order.iter().filter(|id| id.starts_with(prefix)).map(String::as_str).collect()
        }
    }

    impl Edge {
        pub fn attr(&self, name: &str) -> Option<&str> {
            self.attrs.get(name).map(String::as_str)
        }

        pub fn label(&self) -> Option<String> {
            self.attrs.get("label").map(|l| text(l))
        }
    }
}

use dotparse::{parse, Graph};

struct World {
    resolver: Resolver,
    crm: SourceId,
    newsletter: SourceId,
    helpdesk: SourceId,
}

fn world() -> World {
    let mut resolver = Resolver::builder()
        .default_country("NL")
        .kind(
            "full_name",
            KindSpec::composite(
                ["given_name", "surname"],
                KindPolicy::new(0).limit(1).constraint_only(),
            ),
        )
        .kind("legacy_no", KindSpec::new(Normalizer::Opaque, KindPolicy::new(90).limit(1)))
        .build()
        .unwrap();
    let crm = resolver.add_source("crm", 100).unwrap();
    let newsletter = resolver.add_source("newsletter", 30).unwrap();
    let helpdesk = resolver.add_source("helpdesk", 50).unwrap();
    World { resolver, crm, newsletter, helpdesk }
}

impl World {
    fn customer(&self, source: SourceId, id: &str) -> CustomerId {
        self.resolver.customer_of(source, id).expect("record stored")
    }

    fn dot(&self, source: SourceId, id: &str) -> (String, Graph) {
        self.dot_with(source, id, &DotOptions::default())
    }

    fn dot_with(&self, source: SourceId, id: &str, options: &DotOptions) -> (String, Graph) {
        let text = self.resolver.customer_dot_with(self.customer(source, id), options).unwrap();
        let graph = parse(&text);
        (text, graph)
    }
}

fn crm(id: &str) -> RecordInput {
    RecordInput::new(SourceId::from_raw(0), id)
}

#[test]
fn family_email_refused_between_two_customers() {
    let mut w = world();
    w.resolver
        .upsert(
            crm("1")
                .with_key(KindId::CUSTOMER_NO, "C1")
                .with_key(KindId::EMAIL, "family@example.nl")
                .with_key(KindId::PHONE, "020 555 0101"),
        )
        .unwrap();
    w.resolver
        .upsert(
            crm("2")
                .with_key(KindId::CUSTOMER_NO, "C2")
                .with_key(KindId::EMAIL, "family@example.nl")
                .with_key(KindId::PHONE, "020 555 0101"),
        )
        .unwrap();
    let (c1, c2) = (w.customer(w.crm, "1"), w.customer(w.crm, "2"));
    assert_ne!(c1, c2);

    let (_, g) = w.dot(w.crm, "1");
    assert_eq!(g.name, format!("customer {c1}"));
    let r = g.node("crm/1");
    assert_eq!(r, "r0");
    assert_eq!(g.cluster_label(r).as_deref(), Some("crm"));
    let source_cluster = g.nodes[r].cluster.clone().unwrap();
    let outer = g.clusters[&source_cluster].parent.clone().unwrap();
    assert_eq!(
        g.clusters[&outer].attrs.get("label").map(String::as_str),
        Some(format!("customer {c1}").as_str())
    );

    // The customer number links (nothing to link here, but nothing stops it): solid.
    let own_no = g.node("customer_no\nc1");
    let e = g.edge(r, own_no);
    assert_eq!(e.attr("style"), None);
    assert_eq!(e.label(), None);
    assert!(!g.has_node("customer_no\nc2"), "other customers' keys are not drawn");

    // The shared e-mail and phone: dashed, with the limit they would break.
    for key in ["email\nfamily@example.nl", "phone\n+31205550101"] {
        let k = g.node(key);
        let e = g.edge(r, k);
        assert_eq!(e.attr("style"), Some("dashed"), "{key}");
        assert_eq!(e.label().as_deref(), Some("limit on customer_no: c1 vs c2"), "{key}");
        assert_eq!(g.attr(k, "fillcolor"), Some("#fde0dd"));
    }

    // The other side, once, with an edge from both keys, in a dashed cluster of its own.
    let n = g.node("crm/2");
    assert_eq!(n, "n0");
    assert_eq!(g.cluster_label(n), Some(format!("customer {c2}")));
    let cluster = g.nodes[n].cluster.clone().unwrap();
    assert!(g.clusters[&cluster].attrs["style"].contains("dashed"));
    assert!(g.attr(n, "style").unwrap().contains("dashed"));
    assert_eq!(g.degree(n), 2);
    for key in ["email\nfamily@example.nl", "phone\n+31205550101"] {
        assert_eq!(g.edge(g.node(key), n).attr("style"), Some("dashed"));
    }
    assert!(g.ids("m").is_empty(), "no hidden records");

    // Seen from the other customer, the values swap.
    let (_, g2) = w.dot(w.crm, "2");
    let e = g2.edge(g2.node("crm/2"), g2.node("email\nfamily@example.nl"));
    assert_eq!(e.label().as_deref(), Some("limit on customer_no: c2 vs c1"));
}

#[test]
fn ambiguous_value_names_the_customers_and_the_limit() {
    // A family e-mail: three customers carry it, so it links none of them.
    let mut w = world();
    let (newsletter, helpdesk) = (w.newsletter, w.helpdesk);
    let changes = w.resolver.ingest([
        crm("1")
            .with_key(KindId::CUSTOMER_NO, "C100")
            .with_key(KindId::EMAIL, "dejong.family@ziggo.nl")
            .with_key(KindId::PHONE, "06 1111 2222"),
        crm("2")
            .with_key(KindId::CUSTOMER_NO, "C200")
            .with_key(KindId::EMAIL, "dejong.family@ziggo.nl")
            .with_key(KindId::PHONE, "06 3333 4444"),
        RecordInput::new(newsletter, "n1").with_key(KindId::EMAIL, "DeJong.Family@ziggo.nl"),
        RecordInput::new(helpdesk, "t1")
            .with_key(KindId::PHONE, "+31611112222")
            .with_key(KindId::EMAIL, "dejong.family@ziggo.nl"),
    ]);
    assert_eq!(changes.report.records_accepted, 4);
    let (_, g) = w.dot(w.crm, "1");
    let (r_crm, r_help) = (g.node("crm/1"), g.node("helpdesk/t1"));
    assert_eq!((r_crm, r_help), ("r0", "r1"), "records by source name, then id");
    let (email, phone) = (g.node("email\ndejong.family@ziggo.nl"), g.node("phone\n+31611112222"));
    for r in [r_crm, r_help] {
        let e = g.edge(r, email);
        assert_eq!(e.attr("style"), Some("dashed"));
        assert_eq!(e.label().as_deref(), Some("ambiguous: 3 customers, customer_no limit"));
        assert_eq!(g.edge(r, phone).attr("style"), None, "the phone links");
    }
    let others = [g.node("crm/2"), g.node("newsletter/n1")];
    assert_eq!(others, ["n0", "n1"]);
    let labels: Vec<Option<String>> = others.iter().map(|n| g.cluster_label(n)).collect();
    assert_eq!(
        labels,
        [
            Some(format!("customer {}", w.customer(w.crm, "2"))),
            Some(format!("customer {}", w.customer(newsletter, "n1")))
        ]
    );
    assert_ne!(g.nodes[others[0]].cluster, g.nodes[others[1]].cluster);
    for n in others {
        assert_eq!(g.edge(email, n).attr("style"), Some("dashed"));
        assert_eq!(g.degree(n), 1);
    }
    let clusters = g.clusters.len();
    assert_eq!(clusters, 1 + 2 + 2, "customer, crm, helpdesk, two other customers");
}

/// Ten colleagues with their own customer numbers behind one switchboard (phone cap 8).
fn switchboard() -> World {
    let mut w = world();
    for i in 0..10 {
        w.resolver
            .upsert(
                crm(&format!("{i}"))
                    .with_key(KindId::CUSTOMER_NO, format!("C{i}"))
                    .with_key(KindId::PHONE, "020 123 4567"),
            )
            .unwrap();
    }
    w
}

#[test]
fn generic_switchboard_shows_a_bounded_number_of_colleagues() {
    let w = switchboard();
    let phone = "phone\n+31201234567";

    let (_, g) = w.dot(w.crm, "0");
    let k = g.node(phone);
    let e = g.edge(g.node("crm/0"), k);
    assert_eq!(e.attr("style"), Some("dashed"));
    assert_eq!(e.label().as_deref(), Some("generic: 10 records, cap 8"));
    // The first five by source and id, then a count of the rest.
    let shown: Vec<&str> = (1..=5).map(|i| g.node(&format!("crm/{i}"))).collect();
    assert_eq!(shown, g.ids("n"));
    for n in &shown {
        assert_eq!(g.edge(k, n).attr("style"), Some("dashed"));
    }
    let more = g.node("+4 more");
    assert_eq!(g.edge(k, more).attr("style"), Some("dashed"));
    assert!(!g.has_node("crm/6"));

    let (_, g) = w.dot_with(w.crm, "0", &DotOptions::default().max_neighbors(2));
    assert_eq!(g.ids("n").len(), 2);
    assert!(g.has_node("+7 more"));

    let (_, g) = w.dot_with(w.crm, "0", &DotOptions::default().neighbors(false));
    assert!(g.ids("n").is_empty() && g.ids("m").is_empty(), "no other customers at all");
    assert_eq!(g.edge(g.node("crm/0"), g.node(phone)).attr("style"), Some("dashed"));

    // Over the scan limit the key's records are not read, only counted.
    let (_, g) = w.dot_with(w.crm, "0", &DotOptions::default().scan_limit(9));
    assert!(g.ids("n").is_empty());
    assert_eq!(g.edge(g.node(phone), g.node("+9 more")).attr("style"), Some("dashed"));
    let e = g.edge(g.node("crm/0"), g.node(phone));
    assert_eq!(e.label().as_deref(), Some("generic: 10 records, cap 8"));
}

#[test]
fn refused_value_over_the_scan_limit_is_not_linked_without_detail() {
    let mut w = world();
    for i in 0..4 {
        w.resolver
            .upsert(
                crm(&format!("{i}"))
                    .with_key(KindId::CUSTOMER_NO, format!("C{i}"))
                    .with_key(KindId::EMAIL, "shared@example.nl"),
            )
            .unwrap();
    }
    let (_, g) = w.dot_with(w.crm, "0", &DotOptions::default().scan_limit(3));
    let k = g.node("email\nshared@example.nl");
    let e = g.edge(g.node("crm/0"), k);
    assert_eq!(e.label().as_deref(), Some("not linked: 4 records"));
    assert!(g.has_node("+3 more"));
    let (_, g) = w.dot(w.crm, "0");
    let e = g.edge(g.node("crm/0"), g.node("email\nshared@example.nl"));
    assert_eq!(e.label().as_deref(), Some("ambiguous: 4 customers, customer_no limit"));
}

#[test]
fn placeholder_is_deny_listed() {
    let mut w = world();
    for id in ["1", "2"] {
        w.resolver.upsert(crm(id).with_key(KindId::EMAIL, "test@test.com")).unwrap();
    }
    let (_, g) = w.dot(w.crm, "1");
    let k = g.node("email\ntest@test.com");
    let e = g.edge(g.node("crm/1"), k);
    assert_eq!(e.attr("style"), Some("dashed"));
    assert_eq!(e.label().as_deref(), Some("deny-listed placeholder"));
    assert_eq!(g.edge(k, g.node("crm/2")).attr("style"), Some("dashed"));
}

#[test]
fn constraint_kinds_are_dotted() {
    let mut w = world();
    w.resolver
        .upsert(
            crm("1")
                .with_key(KindId::EMAIL, "jan@example.nl")
                .with_key(KindId::IP, "192.0.2.7")
                .with_attribute("given_name", "Jan")
                .with_attribute("surname", "Jansen"),
        )
        .unwrap();
    let helpdesk = w.helpdesk;
    w.resolver
        .upsert(
            RecordInput::new(helpdesk, "t1")
                .with_key(KindId::EMAIL, "JAN@example.nl")
                .with_attribute("given_name", "jan")
                .with_attribute("surname", "JANSEN"),
        )
        .unwrap();
    let (_, g) = w.dot(w.crm, "1");
    let name = g.node("full_name\njan | jansen");
    for r in [g.node("crm/1"), g.node("helpdesk/t1")] {
        let e = g.edge(r, name);
        assert_eq!(e.attr("style"), Some("dotted"));
        assert_eq!(e.label().as_deref(), Some("constraint"));
        assert_eq!(g.edge(r, g.node("email\njan@example.nl")).attr("style"), None);
    }
    let e = g.edge(g.node("crm/1"), g.node("ip\n192.0.2.7"));
    assert_eq!(e.attr("style"), Some("dotted"));
    assert_eq!(e.label().as_deref(), Some("links nothing"), "ip has no limit");
    assert!(g.attr(name, "style").unwrap().contains("dotted"));
}

#[test]
fn untrusted_ids_and_values_are_escaped() {
    let mut w = world();
    let legacy = w.resolver.kind_id("legacy_no").unwrap();
    let evil_id = "a\"b\nc";
    let evil_value = r#"v\N"]; x -- y; z [label="\"#;
    w.resolver
        .upsert(crm(evil_id).with_key(legacy, evil_value).with_key(KindId::EMAIL, "e@x.nl"))
        .unwrap();
    w.resolver.upsert(crm("x\\G\u{7}").with_key(KindId::EMAIL, "e@x.nl")).unwrap();
    let (text, g) = w.dot(w.crm, evil_id);
    assert!(text.contains(r#"label="crm/a\"b\nc""#), "{text}");
    assert_eq!(g.node(&format!("crm/{evil_id}")), "r0");
    let k = g.node(&format!("legacy_no\n{evil_value}"));
    assert_eq!(g.degree(k), 1);
    // A bell is shown as text, a backslash stays a backslash.
    assert!(g.has_node("crm/x\\G\\u{7}"));
    assert_eq!(g.nodes.len(), 2 + 2, "two records, two keys, nothing injected");
    assert_eq!(g.edges.len(), 3);
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
}

#[test]
fn long_values_are_cut() {
    let mut w = world();
    let long = format!("{}@example.nl", "x".repeat(100));
    w.resolver.upsert(crm(&"y".repeat(80)).with_key(KindId::EMAIL, &long)).unwrap();
    let (_, g) = w.dot_with(w.crm, &"y".repeat(80), &DotOptions::default().max_label_chars(10));
    assert!(g.has_node(&format!("crm/{}…", "y".repeat(9))));
    assert!(g.has_node(&format!("email\n{}…", "x".repeat(9))));
    let (_, g) = w.dot_with(w.crm, &"y".repeat(80), &DotOptions::default().max_label_chars(0));
    assert!(g.has_node(&format!("email\n{long}")));
}

#[test]
fn none_for_ids_that_are_not_live() {
    let mut w = world();
    assert_eq!(w.resolver.customer_dot(CustomerId::from_raw(0)), None);
    assert_eq!(w.resolver.customer_dot(CustomerId::from_raw(u64::MAX)), None);
    w.resolver.upsert(crm("a").with_key(KindId::EMAIL, "a@x.nl")).unwrap();
    w.resolver.upsert(crm("b").with_key(KindId::PHONE, "0612345678")).unwrap();
    let absorbed = w.customer(w.crm, "b");
    w.resolver
        .upsert(
            crm("bridge").with_key(KindId::EMAIL, "a@x.nl").with_key(KindId::PHONE, "0612345678"),
        )
        .unwrap();
    assert_eq!(w.resolver.customer_dot(absorbed), None, "merged away");
    let survivor = w.customer(w.crm, "b");
    let g = parse(&w.resolver.customer_dot(survivor).unwrap());
    assert_eq!(g.ids("r").len(), 3);
    w.resolver.remove(w.crm, "a").unwrap();
    w.resolver.remove(w.crm, "b").unwrap();
    w.resolver.remove(w.crm, "bridge").unwrap();
    assert_eq!(w.resolver.customer_dot(survivor), None, "removed");
}

/// Records of every trap above, for the order tests.
fn mixed_records() -> Vec<RecordInput> {
    let (newsletter, helpdesk) = (SourceId::from_raw(1), SourceId::from_raw(2));
    let mut records = vec![
        crm("1")
            .with_key(KindId::CUSTOMER_NO, "C1")
            .with_key(KindId::EMAIL, "family@example.nl")
            .with_key(KindId::PHONE, "020 123 4567")
            .with_key(KindId::IP, "192.0.2.1")
            .with_attribute("given_name", "Eva")
            .with_attribute("surname", "Bakker"),
        crm("2").with_key(KindId::CUSTOMER_NO, "C2").with_key(KindId::EMAIL, "family@example.nl"),
        RecordInput::new(newsletter, "n1")
            .with_key(KindId::EMAIL, "family@example.nl")
            .with_key(KindId::EMAIL, "test@test.com"),
        RecordInput::new(helpdesk, "t1")
            .with_key(KindId::PHONE, "+31 20 123 4567")
            .with_key(KindId::EMAIL, "eva@example.nl")
            .with_key(KindId::CUSTOMER_NO, "c1")
            .with_attribute("given_name", "eva")
            .with_attribute("surname", "bakker"),
        RecordInput::new(helpdesk, "t2").with_key(KindId::EMAIL, "test@test.com"),
        RecordInput::new(newsletter, "n2").with_key(KindId::EMAIL, "eva@example.nl"),
    ];
    for i in 0..12 {
        records.push(
            crm(&format!("office-{i:02}"))
                .with_key(KindId::CUSTOMER_NO, format!("O{i}"))
                .with_key(KindId::PHONE, "020 123 4567"),
        );
    }
    records
}

/// Customer ids depend on arrival order (the oldest record's customer keeps the smallest);
/// the rest of the picture must not.
fn mask_customer_ids(dot: &str) -> String {
    let mut out = String::new();
    let mut rest = dot;
    while let Some(i) = rest.find("customer ") {
        out.push_str(&rest[..i + "customer ".len()]);
        rest = rest[i + "customer ".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('#');
    }
    out.push_str(rest);
    out
}

fn pictures(resolver: &Resolver) -> Vec<String> {
    let crm = SourceId::from_raw(0);
    ["1", "2", "office-03"]
        .iter()
        .map(|id| {
            let c = resolver.customer_of(crm, id).unwrap();
            resolver.customer_dot(c).unwrap()
        })
        .collect()
}

#[test]
fn output_is_deterministic_and_independent_of_arrival_order() {
    let records = mixed_records();
    let mut bulk = world();
    bulk.resolver.ingest(records.clone());
    let expected = pictures(&bulk.resolver);
    assert_eq!(expected, pictures(&bulk.resolver), "same output twice");
    for p in &expected {
        parse(p);
    }
    assert!(expected[0].contains("ambiguous: 3 customers, customer_no limit"));
    assert!(expected[0].contains("generic: 14 records, cap 8"));

    // One by one in the same order: the same ids, the same text.
    let mut one_by_one = world();
    for r in records.clone() {
        one_by_one.resolver.upsert(r).unwrap();
    }
    assert_eq!(pictures(&one_by_one.resolver), expected);

    // Reversed, with every record's keys reversed too: other ids, otherwise the same text.
    let mut reversed = world();
    for mut r in records.iter().rev().cloned() {
        r.keys.reverse();
        reversed.resolver.upsert(r).unwrap();
    }
    let got = pictures(&reversed.resolver);
    assert_ne!(got, expected, "customer ids follow arrival order");
    let masked = |v: &[String]| v.iter().map(|s| mask_customer_ids(s)).collect::<Vec<_>>();
    assert_eq!(masked(&got), masked(&expected));

    // Interleaved: odd positions first.
    let mut interleaved = world();
    let order = (0..records.len()).step_by(2).chain((1..records.len()).step_by(2));
    interleaved.resolver.ingest(order.map(|i| records[i].clone()));
    assert_eq!(masked(&pictures(&interleaved.resolver)), masked(&expected));
}

#[test]
fn every_record_and_key_of_the_customer_is_drawn_once() {
    let mut w = world();
    w.resolver.ingest(mixed_records());
    let c = w.customer(w.crm, "1");
    let (_, g) = w.dot(w.crm, "1");
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    let records: Vec<_> = w.resolver.customer_records(c).unwrap().collect();
    assert_eq!(g.ids("r").len(), records.len());
    for r in &records {
        let name = w.resolver.source_name(r.source).unwrap();
        let node = g.node(&format!("{name}/{}", r.external_id));
        let keys = w.resolver.record_keys(r.source, r.external_id).unwrap();
        assert_eq!(g.degree(node), keys.len());
        for (kind, value) in keys {
            let label = format!(
                "{}\n{}",
                w.resolver.kind_name(kind).unwrap(),
                value.replace('\u{1f}', " | ")
            );
            g.edge(node, g.node(&label));
            *expected.entry(label).or_default() += 1;
        }
    }
    assert_eq!(g.ids("k").len(), expected.len());
}
