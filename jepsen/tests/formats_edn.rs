//! The EDN reader: every construct, error positions, limits, and the writer round trip.

use odradek_jepsen::history::edn::{self, parse_all, parse_one, to_edn, EdnError, MAX_DEPTH};
use odradek_jepsen::history::read::op_from_value;
use odradek_jepsen::history::{Float, History, HistoryError, Value};
use proptest::prelude::*;

fn kw(name: &str) -> Value {
    Value::Keyword(name.to_string())
}

fn s(text: &str) -> Value {
    Value::Str(text.to_string())
}

fn one(text: &str) -> Value {
    parse_one(text).unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
}

fn syntax_error(text: &str) -> (usize, usize, String, String) {
    match parse_all(text) {
        Err(EdnError::Syntax {
            line,
            column,
            expected,
            found,
        }) => (line, column, expected, found),
        other => panic!("{text:?} should be a syntax error, got {other:?}"),
    }
}

#[test]
fn nil_true_and_false_are_literals() {
    assert_eq!(one("nil"), Value::Nil);
    assert_eq!(one("true"), Value::Bool(true));
    assert_eq!(one("false"), Value::Bool(false));
    assert_eq!(one("nilly"), Value::Symbol("nilly".into()));
}

#[test]
fn keywords_keep_their_namespace_without_the_colon() {
    assert_eq!(one(":send"), kw("send"));
    assert_eq!(one(":jepsen.history/op"), kw("jepsen.history/op"));
    assert_eq!(one(":G1c-realtime"), kw("G1c-realtime"));
    assert!(parse_one(":").is_err());
}

#[test]
fn symbols_are_read_as_symbols() {
    assert_eq!(one("foo/bar"), Value::Symbol("foo/bar".into()));
    assert_eq!(one("-"), Value::Symbol("-".into()));
    assert_eq!(one("+x"), Value::Symbol("+x".into()));
    assert_eq!(one("<=>?!"), Value::Symbol("<=>?!".into()));
}

#[test]
fn strings_unescape_every_edn_escape() {
    assert_eq!(one(r#""plain""#), s("plain"));
    assert_eq!(one(r#""a\nb\tc\"d\\e\rf""#), s("a\nb\tc\"d\\e\rf"));
    assert_eq!(one(r#""caf\u00e9 \u2603""#), s("café ☃"));
    assert_eq!(one("\"two\nlines\""), s("two\nlines"));
}

#[test]
fn bad_string_escapes_are_errors_with_positions() {
    let (line, column, expected, found) = syntax_error("[1\n  \"ab\\qc\"]");
    assert_eq!((line, column), (2, 6));
    assert!(expected.contains("\\uXXXX"), "{expected}");
    assert_eq!(found, "`\\q`");
    let (_, _, expected, _) = syntax_error(r#""\u12G4""#);
    assert!(expected.contains("hex digits"), "{expected}");
}

#[test]
fn an_unterminated_string_reports_where_it_started() {
    let (line, column, expected, found) = syntax_error("{:a 1}\n {:b \"open");
    assert_eq!((line, column), (2, 6));
    assert_eq!(expected, "a closing `\"`");
    assert_eq!(found, "end of input");
}

#[test]
fn integers_read_as_i64_or_bigint() {
    assert_eq!(one("42"), Value::Int(42));
    assert_eq!(one("-7"), Value::Int(-7));
    assert_eq!(one("+7"), Value::Int(7));
    assert_eq!(one("12N"), Value::Int(12));
    assert_eq!(one("9223372036854775807"), Value::Int(i64::MAX));
    assert_eq!(
        one("9223372036854775808"),
        Value::BigInt("9223372036854775808".into())
    );
    assert_eq!(
        one("-123456789012345678901234567890N"),
        Value::BigInt("-123456789012345678901234567890".into())
    );
}

#[test]
fn floats_decimals_and_ratios_are_numbers() {
    assert_eq!(one("1.5"), Value::Float(Float(1.5)));
    assert_eq!(one("-2.5e3"), Value::Float(Float(-2500.0)));
    assert_eq!(one("1E-2"), Value::Float(Float(0.01)));
    assert_eq!(
        one("3.14159M"),
        Value::Tagged("bigdec".into(), Box::new(s("3.14159")))
    );
    assert_eq!(one("1/4"), Value::Float(Float(0.25)));
    assert_eq!(one("##Inf"), Value::Float(Float(f64::INFINITY)));
    assert!(matches!(one("##NaN"), Value::Float(Float(f)) if f.is_nan()));
}

#[test]
fn malformed_numbers_are_errors() {
    for text in ["1a", "1.2.3", "0x10", "1/0", "1/-2", "12Nx"] {
        let (_, _, expected, found) = syntax_error(text);
        assert_eq!(expected, "a number", "{text}");
        assert_eq!(found, format!("`{text}`"));
    }
}

#[test]
fn characters_become_one_character_strings() {
    assert_eq!(one(r"\a"), s("a"));
    assert_eq!(one(r"\newline"), s("\n"));
    assert_eq!(one(r"\space"), s(" "));
    assert_eq!(one(r"\tab"), s("\t"));
    assert_eq!(one(r"\u00e9"), s("é"));
    assert_eq!(one(r"[\( \)]"), Value::Vector(vec![s("("), s(")")]));
    let (_, _, expected, found) = syntax_error(r"\bogus");
    assert_eq!(
        (expected.as_str(), found.as_str()),
        ("a character name", r"`\bogus`")
    );
}

#[test]
fn collections_nest_and_keep_their_kind() {
    let value = one("[1 (2 3) #{4} {:a [5]}]");
    let expected = Value::Vector(vec![
        Value::Int(1),
        Value::List(vec![Value::Int(2), Value::Int(3)]),
        Value::Set(vec![Value::Int(4)]),
        Value::Map(vec![(kw("a"), Value::Vector(vec![Value::Int(5)]))]),
    ]);
    assert_eq!(value, expected);
    assert_eq!(one("[]"), Value::Vector(vec![]));
    assert_eq!(one("{}"), Value::Map(vec![]));
}

#[test]
fn maps_keep_entries_in_order_with_any_keys() {
    let value = one("{10 [[5 3]], \"k\" nil, [1 2] :v}");
    let Value::Map(entries) = &value else {
        panic!("not a map: {value:?}")
    };
    assert_eq!(entries[0].0, Value::Int(10));
    assert_eq!(entries[1], (s("k"), Value::Nil));
    assert_eq!(
        value.map_get(&Value::Vector(vec![Value::Int(1), Value::Int(2)])),
        Some(&kw("v"))
    );
}

#[test]
fn a_map_with_an_odd_number_of_forms_is_an_error() {
    let (line, column, expected, found) = syntax_error("{:a 1\n :b}");
    assert_eq!((line, column), (2, 4));
    assert!(expected.contains("even number of forms"), "{expected}");
    assert!(expected.contains("line 1, column 1"), "{expected}");
    assert_eq!(found, "`}`");
}

#[test]
fn comments_commas_and_discards_are_skipped() {
    let text = "; header\n[1, 2 ; two\n #_ 3 #_ #_ 4 5 6 #_[7 8]]";
    assert_eq!(
        one(text),
        Value::Vector(vec![Value::Int(1), Value::Int(2), Value::Int(6)])
    );
    assert_eq!(parse_all("#_ {:x 1} :y").map(|v| v.len()), Ok(1));
}

#[test]
fn tagged_literals_are_kept_with_their_tag() {
    assert_eq!(
        one("#inst \"2024-01-02T03:04:05.000-00:00\""),
        Value::Tagged("inst".into(), Box::new(s("2024-01-02T03:04:05.000-00:00")))
    );
    assert_eq!(
        one("#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\""),
        Value::Tagged(
            "uuid".into(),
            Box::new(s("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"))
        )
    );
    assert_eq!(
        one("#my.app/Thing [1]"),
        Value::Tagged(
            "my.app/Thing".into(),
            Box::new(Value::Vector(vec![Value::Int(1)]))
        )
    );
    assert_eq!(
        one("#jepsen.history.Op{:index 1}"),
        Value::Tagged(
            "jepsen.history.Op".into(),
            Box::new(Value::Map(vec![(kw("index"), Value::Int(1))]))
        )
    );
}

#[test]
fn mismatched_and_unclosed_delimiters_name_both_ends() {
    let (line, column, expected, found) = syntax_error("[1 2\n (3 4]");
    assert_eq!((line, column), (2, 6));
    assert_eq!(expected, "`)` to close `(` opened at line 2, column 2");
    assert_eq!(found, "`]`");
    let (line, _, expected, found) = syntax_error("{:a [1 2\n\n");
    assert_eq!(line, 3);
    assert_eq!(expected, "`]` to close `[` opened at line 1, column 5");
    assert_eq!(found, "end of input");
    let (_, _, expected, _) = syntax_error(") 1");
    assert_eq!(expected, "a value");
    let (_, _, expected, _) = syntax_error("[#_]");
    assert_eq!(expected, "a value after `#_`");
    let (_, _, expected, _) = syntax_error("#inst");
    assert_eq!(expected, "a value after `#inst`");
}

#[test]
fn columns_count_characters_not_bytes() {
    let (line, column, _, _) = syntax_error("[\"héllo\" 1x]");
    assert_eq!((line, column), (1, 10));
}

#[test]
fn nesting_beyond_the_limit_is_an_error_not_a_crash() {
    let deep = "[".repeat(1_000_000);
    let error = parse_all(&deep).expect_err("too deep");
    assert_eq!(
        error,
        EdnError::TooDeep {
            line: 1,
            column: MAX_DEPTH + 1,
            max_depth: MAX_DEPTH
        }
    );
    assert!(error.to_string().contains("nesting deeper than 256 levels"));
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse_one(&ok).is_ok());
}

#[test]
fn parse_all_reports_where_each_value_starts() {
    let values = parse_all("1\n  [2\n 3] #_x :k").expect("parses");
    let positions: Vec<_> = values.iter().map(|(_, at)| (at.line, at.column)).collect();
    assert_eq!(positions, vec![(1, 1), (2, 3), (3, 9)]);
}

#[test]
fn writing_then_reading_gives_the_same_value() {
    let text = r#"{:a [1 -2 3.5 "q\"\n" nil true], "k" #{:x}, (1 2) #inst "t", :big 123456789012345678901N, :d 1.5M}"#;
    let value = one(text);
    assert_eq!(one(&to_edn(&value)), value);
    assert_eq!(edn::to_edn(&kw("jepsen.history/op")), ":jepsen.history/op");
}

fn arbitrary_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-1e12f64..1e12).prop_map(|f| Value::Float(Float(f))),
        "\\PC{0,12}".prop_map(Value::Str),
        "[a-z][a-z0-9.-]{0,8}(/[a-z][a-z0-9-]{0,5})?".prop_map(Value::Keyword),
        "[a-z][a-z0-9*!?-]{0,8}"
            .prop_filter("not a literal", |s| {
                !matches!(s.as_str(), "nil" | "true" | "false")
            })
            .prop_map(Value::Symbol),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Vector),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Set),
            prop::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Map),
            inner.prop_map(|v| Value::Tagged("my/tag".into(), Box::new(v))),
        ]
    })
}

proptest! {
    #[test]
    fn any_value_round_trips_through_edn_text(value in arbitrary_value()) {
        let text = to_edn(&value);
        prop_assert_eq!(parse_one(&text).map_err(|e| e.to_string()), Ok(value));
    }

    #[test]
    fn arbitrary_text_never_panics_the_reader(text in "[\\[\\]{}()#_:;\\\\\"a-z0-9 .\\n^NM/+-]{0,64}") {
        let _ = parse_all(&text);
    }
}

/// Reads a history the slow way: whole values from the general parser, then converted.
fn read_history_generically(text: &str) -> Result<History, String> {
    let mut parser = edn::Parser::new(text);
    parser.enter_outer_vector();
    let mut ops = Vec::new();
    while let Some((value, at)) = parser
        .next_value()
        .map_err(|e| HistoryError::from(e).to_string())?
    {
        let op = op_from_value(value, ops.len() as u64, at.line).map_err(|e| e.to_string())?;
        ops.push(op);
    }
    Ok(History::from_ops(ops))
}

fn op_text_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{",
        "}",
        "#jepsen.history.Op{",
        "#jepsen.history.Op {",
        "#other/Op{",
        "[",
        "]",
        "(",
        ")",
        ":type",
        ":invoke",
        ":ok",
        ":done",
        ":process",
        ":nemesis",
        "0",
        "7",
        "-1",
        ":f",
        ":send",
        ":value",
        ":index",
        ":time",
        ":error",
        "nil",
        "\"type\"",
        "\"ok\"",
        "#_",
        "#{",
        ":",
        "[[:send 10 [5 3]]]",
        "{10 [[5 3]]}",
        "\n",
        " ",
        ",",
        "; c\n",
        "#inst \"x\"",
        "\"s",
    ])
}

proptest! {
    #[test]
    fn the_fast_op_path_agrees_with_the_general_parser(pieces in prop::collection::vec(op_text_piece(), 0..40)) {
        let text = pieces.join(" ");
        let fast = edn::read_history(&text).map_err(|e| e.to_string());
        prop_assert_eq!(fast, read_history_generically(&text));
    }
}

#[test]
fn the_fast_op_path_agrees_on_well_formed_ops() {
    let text = "{:type :invoke, \"f\" :send, :process 0, #_ :skipped #_ 1 :value [1], [1] 2, :extra {:a 1}}\n#jepsen.history.Op{:index 9, :type :ok, :process 0 :f :send #_ :x}";
    let fast = edn::read_history(text).expect("reads");
    assert_eq!(Ok(fast.clone()), read_history_generically(text));
    assert_eq!(fast.ops[0].f, "send");
    assert_eq!(fast.ops[1].index, 9);
}

#[test]
fn a_top_level_list_of_ops_reads_like_a_vector_as_knossos_writes_it() {
    let text = "({:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value 3})";
    let history = odradek_jepsen::history::edn::read_history(text).expect("a top-level list");
    assert_eq!(history.ops.len(), 2);
    assert_eq!(history.source_lines, vec![1, 2]);
    let unclosed =
        odradek_jepsen::history::edn::read_history("({:process 0, :type :invoke, :f :read}");
    assert!(unclosed
        .unwrap_err()
        .to_string()
        .contains("`)` to close `(`"));
}
