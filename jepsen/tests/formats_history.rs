//! Histories from files and text: JSON lines and Jepsen EDN, format detection, field rules,
//! and error messages that name the file, line and what was expected.

use odradek_jepsen::history::edn::history_to_edn;
use odradek_jepsen::history::read::write_history_file;
use odradek_jepsen::history::{
    jsonl, pair, read_history_file, read_history_str, Float, Format, History, HistoryError, Op,
    OpType, Process, Value,
};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn kw(name: &str) -> Value {
    Value::Keyword(name.to_string())
}

fn invalid_op(result: Result<History, HistoryError>) -> (usize, String, String) {
    match result {
        Err(HistoryError::InvalidOp {
            line,
            expected,
            found,
            ..
        }) => (line, expected, found),
        other => panic!("expected an invalid-op error, got {other:?}"),
    }
}

#[test]
fn a_jepsen_kafka_history_with_maps_and_op_records_reads_every_op() {
    let history = read_history_file(data("kafka-ops-per-line.edn"), None).expect("reads");
    assert_eq!(history.ops.len(), 12);
    let send_ok = &history.ops[1];
    assert_eq!(send_ok.index, 1);
    assert_eq!(send_ok.time, 5000);
    assert_eq!(send_ok.process, Process::Client(0));
    assert_eq!(send_ok.op_type, OpType::Ok);
    assert_eq!(send_ok.f, "send");
    assert_eq!(
        send_ok.value,
        Value::Vector(vec![Value::Vector(vec![
            kw("send"),
            Value::Int(10),
            Value::Vector(vec![Value::Int(5), Value::Int(3)])
        ])])
    );
    let nemesis = &history.ops[4];
    assert_eq!(nemesis.process, Process::Nemesis);
    assert_eq!(nemesis.f, "start-partition");
    let failed = &history.ops[7];
    assert_eq!(failed.op_type, OpType::Fail);
    assert_eq!(
        failed.error,
        Some(Value::Vector(vec![
            kw("unknown-topic-or-partition"),
            Value::Str("no leader".into())
        ]))
    );
    let pairing = pair(&history).expect("pairs");
    assert_eq!(pairing.client_ops.len(), 4);
    assert_eq!(pairing.nemesis_ops.len(), 4);
}

#[test]
fn a_history_written_as_one_vector_reads_and_indexes_by_position() {
    let history = read_history_file(data("kafka-vector.edn"), None).expect("reads");
    let summary: Vec<_> = history
        .ops
        .iter()
        .map(|op| (op.index, op.time, op.f.as_str(), op.op_type))
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, 100, "txn", OpType::Invoke),
            (1, 250, "txn", OpType::Ok),
            (2, 300, "assign", OpType::Invoke),
            (3, 310, "assign", OpType::Ok),
        ]
    );
}

#[test]
fn an_unknown_type_names_the_file_and_line() {
    let error = read_history_file(data("bad-type.edn"), None).expect_err("bad type");
    let message = error.to_string();
    assert!(message.contains("bad-type.edn"), "{message}");
    assert!(
        message.ends_with(
            "line 3: expected field `type` to be one of invoke|ok|fail|info, found :done"
        ),
        "{message}"
    );
}

#[test]
fn an_op_without_a_process_is_an_error_naming_its_line() {
    let text = "{:type :invoke, :f :read, :process 0}\n\n{:type :ok, :f :read}\n";
    let (line, expected, found) = invalid_op(read_history_str(text, Format::Edn));
    assert_eq!(line, 3);
    assert!(expected.starts_with("field `process`"), "{expected}");
    assert_eq!(found, "nothing (missing or null)");
}

#[test]
fn a_value_that_is_not_an_op_is_an_error() {
    let (line, expected, found) = invalid_op(read_history_str(
        "{:type :invoke :process 1}\n[1 2]",
        Format::Edn,
    ));
    assert_eq!(line, 2);
    assert!(expected.starts_with("an operation"), "{expected}");
    assert_eq!(found, "[1 2]");
    let (_, expected, _) = invalid_op(read_history_str("#other.Rec{:type :ok}", Format::Edn));
    assert!(expected.starts_with("an operation"));
}

#[test]
fn missing_time_is_zero_and_named_processes_are_kept() {
    let history =
        read_history_str("{:type :invoke, :f :r, :process :worker-a}", Format::Edn).expect("reads");
    assert_eq!(history.ops[0].time, 0);
    assert_eq!(history.ops[0].process, Process::Named("worker-a".into()));
    assert_eq!(history.ops[0].value, Value::Nil);
}

#[test]
fn bad_index_and_time_fields_are_errors() {
    let (_, expected, found) = invalid_op(read_history_str(
        "{:type :ok, :process 0, :index -1}",
        Format::Edn,
    ));
    assert_eq!(
        (expected.as_str(), found.as_str()),
        ("field `index` to be a non-negative integer", "-1")
    );
    let (_, expected, found) = invalid_op(read_history_str(
        "{:type :ok, :process 0, :time \"soon\"}",
        Format::Edn,
    ));
    assert_eq!(expected, "field `time` to be an integer (nanoseconds)");
    assert_eq!(found, "\"soon\"");
}

#[test]
fn edn_syntax_errors_carry_file_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.edn");
    std::fs::write(
        &path,
        "{:type :invoke, :process 0}\n{:type :ok, :process 0, :value [1 2}\n",
    )
    .expect("write");
    let error = read_history_file(&path, None).expect_err("broken");
    let HistoryError::Syntax {
        file, line, column, ..
    } = &error
    else {
        panic!("not a syntax error: {error:?}")
    };
    assert_eq!(
        (file.as_deref(), *line, *column),
        (Some(path.as_path()), 2, 36)
    );
    assert!(error
        .to_string()
        .contains("broken.edn: line 2, column 36: expected `]` to close `[`"));
}

#[test]
fn jsonl_reads_skipping_blank_lines() {
    let history = read_history_file(data("small.jsonl"), None).expect("reads");
    assert_eq!(history.ops.len(), 5);
    assert_eq!(history.ops[2].process, Process::Nemesis);
    assert_eq!(
        history.ops[2].value,
        Value::Set(vec![Value::Str("n1".into())])
    );
    assert_eq!(history.ops[4].error, Some(Value::Str("timeout".into())));
    assert_eq!(history.ops[4].op_type, OpType::Info);
}

#[test]
fn jsonl_without_indexes_is_indexed_densely() {
    let text = "{\"time\":5,\"process\":0,\"type\":\"invoke\",\"f\":\"r\"}\n\n{\"time\":6,\"process\":0,\"type\":\"ok\",\"f\":\"r\",\"value\":3}\n";
    let history = read_history_str(text, Format::Jsonl).expect("reads");
    let indexes: Vec<_> = history.ops.iter().map(|op| op.index).collect();
    assert_eq!(indexes, vec![0, 1]);
    assert_eq!(history.ops[1].value, Value::Int(3));
}

#[test]
fn jsonl_errors_say_what_was_expected_on_which_line() {
    let mut lines = vec!["{\"process\":0,\"type\":\"invoke\",\"f\":\"r\"}"; 6];
    lines.push("{\"process\":0,\"type\":\"done\",\"f\":\"r\"}");
    let error = read_history_str(&lines.join("\n"), Format::Jsonl).expect_err("bad type");
    assert_eq!(
        error.to_string(),
        "line 7: expected field `type` to be one of invoke|ok|fail|info, found \"done\""
    );
    let error = read_history_str("{\"process\":0,\n[1]", Format::Jsonl).expect_err("not json");
    assert_eq!(error.line(), Some(1));
    let error = read_history_str("{\"process\":0,\"type\":\"ok\"}\n  [1]", Format::Jsonl)
        .expect_err("array");
    let HistoryError::Syntax { line, column, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!((line, column), (2, 3));
}

#[test]
fn formats_are_detected_by_extension_then_contents() {
    assert_eq!(
        Format::from_path(Path::new("h/history.edn")),
        Some(Format::Edn)
    );
    assert_eq!(Format::from_path(Path::new("h.JSONL")), Some(Format::Jsonl));
    assert_eq!(Format::from_path(Path::new("h.json")), Some(Format::Jsonl));
    assert_eq!(Format::from_path(Path::new("history")), None);
    assert_eq!(Format::sniff("  {\"type\": 1}"), Some(Format::Jsonl));
    assert_eq!(Format::sniff("{:type :ok}"), Some(Format::Edn));
    assert_eq!(Format::sniff("#jepsen.history.Op{}"), Some(Format::Edn));
    assert_eq!(Format::sniff("hello"), None);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("history.txt");
    std::fs::write(&path, "{:type :invoke, :process 0}\n").expect("write");
    assert_eq!(
        read_history_file(&path, None).map(|h| h.ops.len()).ok(),
        Some(1)
    );
    std::fs::write(&path, "hello").expect("write");
    assert!(matches!(
        read_history_file(&path, None),
        Err(HistoryError::UnknownFormat { .. })
    ));
}

#[test]
fn missing_files_and_non_utf8_are_typed_errors() {
    let missing = read_history_file("/nonexistent/history.edn", None);
    assert!(matches!(missing, Err(HistoryError::Io { .. })));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bin.jsonl");
    std::fs::write(&path, b"{}\n{}\n\xff\xfe").expect("write");
    assert!(matches!(
        read_history_file(&path, None),
        Err(HistoryError::NotUtf8 { line: 3, .. })
    ));
}

#[test]
fn an_edn_history_converts_to_jsonl_and_back_unchanged() {
    let history = read_history_file(data("kafka-ops-per-line.edn"), None).expect("reads");
    let text = jsonl::to_string(&history);
    assert!(text.starts_with(
        "{\"index\":0,\"time\":1234,\"process\":0,\"type\":\"invoke\",\"f\":\"send\",\"value\":[[\"send\",10,3]]}\n"
    ));
    let back = read_history_str(&text, Format::Jsonl).expect("reads back");
    // JSON has no keywords: names come back as strings, which checkers compare alike.
    assert_eq!(back.ops.len(), history.ops.len());
    for (a, b) in history.ops.iter().zip(&back.ops) {
        assert_eq!(
            (a.index, a.time, &a.process, a.op_type, &a.f),
            (b.index, b.time, &b.process, b.op_type, &b.f)
        );
    }
    assert_eq!(jsonl::to_string(&back), text);
}

fn arbitrary_op() -> impl Strategy<Value = Op> {
    let process = prop_oneof![
        (0i64..8).prop_map(Process::Client),
        Just(Process::Nemesis),
        "[a-z]{1,6}"
            .prop_filter("not nemesis", |n| n != "nemesis")
            .prop_map(Process::Named),
    ];
    let op_type = prop_oneof![
        Just(OpType::Invoke),
        Just(OpType::Ok),
        Just(OpType::Fail),
        Just(OpType::Info)
    ];
    let value = prop_oneof![
        Just(Value::Nil),
        any::<i64>().prop_map(Value::Int),
        prop::num::f64::NORMAL.prop_map(|f| Value::Float(Float(f))),
        "[ -~]{0,10}".prop_map(Value::Str),
        prop::collection::vec(any::<i64>().prop_map(Value::Int), 0..4).prop_map(Value::Vector),
    ];
    let error = prop::option::of("[a-z ]{1,8}".prop_map(Value::Str));
    (
        any::<u32>(),
        any::<i64>(),
        process,
        op_type,
        "[a-z-]{1,8}",
        value,
        error,
    )
        .prop_map(|(index, time, process, op_type, f, value, error)| Op {
            index: u64::from(index),
            time,
            process,
            op_type,
            f,
            value,
            error,
        })
}

proptest! {
    #[test]
    fn any_history_round_trips_through_jsonl_and_edn(ops in prop::collection::vec(arbitrary_op(), 0..20)) {
        let history = History::from_ops(ops);
        let via_jsonl = read_history_str(&jsonl::to_string(&history), Format::Jsonl);
        prop_assert_eq!(via_jsonl.as_ref().ok(), Some(&history));
        let via_edn = read_history_str(&history_to_edn(&history), Format::Edn);
        prop_assert_eq!(via_edn.as_ref().ok(), Some(&history));
    }
}

#[test]
fn write_history_file_writes_a_readable_file_in_each_format() {
    let history = read_history_file(data("kafka-vector.edn"), None).expect("reads");
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, format) in [("h.jsonl", Format::Jsonl), ("h.edn", Format::Edn)] {
        let path = dir.path().join(name);
        write_history_file(&path, &history, format).expect("writes");
        let back = read_history_file(&path, None).expect("reads back");
        assert_eq!(back.ops.len(), history.ops.len());
        assert_eq!(back.ops[1].f, "txn");
    }
}

#[test]
fn a_json_integer_above_i64_keeps_its_digits() {
    let text = "{\"process\":0,\"type\":\"ok\",\"value\":18446744073709551615}";
    let history = read_history_str(text, Format::Jsonl).expect("reads");
    assert_eq!(
        history.ops[0].value,
        Value::BigInt("18446744073709551615".into())
    );
}

#[test]
fn a_byte_order_mark_at_the_start_is_ignored() {
    let history = read_history_str("\u{feff}{:type :ok, :process 0}", Format::Edn).expect("reads");
    assert_eq!(history.ops.len(), 1);
}

#[test]
fn a_vector_history_on_one_line_reports_columns_of_bad_ops() {
    let text = "[{:type :ok, :process 0} {:type :ok, :process 1} {:type :ok}]";
    let (line, _, _) = invalid_op(read_history_str(text, Format::Edn));
    assert_eq!(line, 1);
    let values = odradek_jepsen::history::edn::parse_all("[1] [2]  [3]").expect("parses");
    let columns: Vec<_> = values.iter().map(|(_, at)| at.column).collect();
    assert_eq!(columns, vec![1, 5, 10]);
}

#[test]
fn a_malformed_json_line_reports_serde_s_reason_and_our_line() {
    let text = "{\"process\":0,\"type\":\"ok\"}\n{\"process\":0,\"type\":\"ok\"\n";
    let error = read_history_str(text, Format::Jsonl).expect_err("truncated");
    assert_eq!(
        error.to_string(),
        "line 2, column 24: expected a valid JSON object, found EOF while parsing an object"
    );
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_either_reader(text in "(\\PC|[\\n{}\\[\\]():#_\"\\\\]){0,80}") {
        let _ = read_history_str(&text, Format::Edn);
        let _ = read_history_str(&text, Format::Jsonl);
    }

    #[test]
    fn arbitrary_op_text_never_panics_either_reader(
        pieces in prop::collection::vec(prop::sample::select(vec![
            "{", "}", "[", "]", ":type", ":ok", ":process", "0", "\"type\"", "\"ok\"", "\"process\"",
            ":", ",", "\n", "#jepsen.history.Op{", "#_", "\\u00e9", "\\", "\"", "1e400", "99999999999999999999",
        ]), 0..30)
    ) {
        let text = pieces.concat();
        let _ = read_history_str(&text, Format::Edn);
        let _ = read_history_str(&text, Format::Jsonl);
    }
}

fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<u64>().prop_map(J::from),
        (-1e9f64..1e9).prop_map(J::from),
        "[a-z#]{0,5}".prop_map(J::String),
        Just(J::String("bigint".into())),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        let key = prop::sample::select(vec!["a", "b", "#set", "#map", "#tag", "value", "bigint"]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(J::Array),
            prop::collection::vec((key, inner), 0..4).prop_map(|entries| {
                J::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #[test]
    fn jsonl_values_follow_the_json_mapping_of_value_from_json(json in arbitrary_json()) {
        let text = format!("{{\"process\":0,\"type\":\"ok\",\"value\":{json}}}");
        let history = read_history_str(&text, Format::Jsonl).map_err(|e| e.to_string());
        let expected = if json.is_null() { Value::Nil } else { Value::from_json(&json) };
        prop_assert_eq!(history.map(|h| h.ops[0].value.clone()), Ok(expected));
    }
}

#[test]
fn jsonl_objects_with_duplicate_keys_keep_the_last_like_value_from_json() {
    let text = r##"{"process":0,"type":"ok","value":{"b":1,"a":2,"b":3,"#set":[1]}}"##;
    let history = read_history_str(text, Format::Jsonl).expect("reads");
    let json: serde_json::Value =
        serde_json::from_str(r##"{"b":1,"a":2,"b":3,"#set":[1]}"##).expect("json");
    assert_eq!(history.ops[0].value, Value::from_json(&json));
    let tagged = r##"{"process":0,"type":"ok","value":{"value":"12345678901234567890123","#tag":"bigint"}}"##;
    let history = read_history_str(tagged, Format::Jsonl).expect("reads");
    assert_eq!(
        history.ops[0].value,
        Value::BigInt("12345678901234567890123".into())
    );
}
