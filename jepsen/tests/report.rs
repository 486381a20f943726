//! Reports: the plain-text verdict, the self-contained HTML page, and fault windows.

use odradek_jepsen::history::{pair, History, Op, OpType, Process, Value};
use odradek_jepsen::report::plots::LATENCY_POINTS_MAX;
use odradek_jepsen::report::{
    nemesis_windows, overall_validity, render_html, render_text, NemesisWindow,
};
use odradek_jepsen::verdict::{Anomaly, Validity, Verdict};

fn op(process: Process, op_type: OpType, f: &str, value: Value, time_ms: i64) -> Op {
    Op {
        index: 0,
        time: time_ms * 1_000_000,
        process,
        op_type,
        f: f.to_string(),
        value,
        error: None,
    }
}

fn indexed(mut ops: Vec<Op>) -> History {
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i as u64;
    }
    History::from_ops(ops)
}

fn kw(name: &str) -> Value {
    Value::Keyword(name.to_string())
}

fn send(key: i64, value: i64) -> Value {
    Value::Vector(vec![Value::Vector(vec![
        kw("send"),
        Value::Int(key),
        Value::Int(value),
    ])])
}

/// Two sends, a poll that misses one, a failed txn, and a partition.
fn small_history() -> History {
    use OpType::*;
    let (p0, p1, nemesis) = (Process::Client(0), Process::Client(1), Process::Nemesis);
    indexed(vec![
        op(p0.clone(), Invoke, "send", send(10, 1), 0),
        op(p1.clone(), Invoke, "send", send(10, 2), 1),
        op(p0.clone(), Ok, "send", send(10, 1), 4),
        op(nemesis.clone(), Info, "start-partition", kw("majority"), 5),
        op(
            nemesis.clone(),
            Info,
            "start-partition",
            Value::Str("<cut n1>".into()),
            6,
        ),
        op(p1.clone(), Ok, "send", send(10, 2), 9),
        op(p0.clone(), Invoke, "poll", Value::Nil, 10),
        op(
            p0.clone(),
            Ok,
            "poll",
            Value::Str("<b>polled & done</b>".into()),
            30,
        ),
        op(nemesis.clone(), Info, "stop-partition", Value::Nil, 40),
        op(nemesis, Info, "stop-partition", kw("healed"), 41),
        op(p1.clone(), Invoke, "txn", Value::Nil, 42),
        op(p1, Fail, "txn", Value::Nil, 43),
        op(Process::Client(2), Invoke, "send", send(11, 7), 44),
    ])
}

fn verdicts() -> Vec<Verdict> {
    vec![
        Verdict {
            checker: "queue".into(),
            validity: Validity::Invalid,
            anomalies: vec![
                Anomaly {
                    name: "lost-write".into(),
                    fails_run: true,
                    explanation: "send of 2 to key 10 was acknowledged but never polled <script>"
                        .into(),
                    witness_ops: vec![5, 7],
                },
                Anomaly {
                    name: "G0".into(),
                    fails_run: false,
                    explanation: "write cycle between ops 2 and 5".into(),
                    witness_ops: vec![2, 5],
                },
                Anomaly {
                    name: "lost-write".into(),
                    fails_run: true,
                    explanation: "second lost write".into(),
                    witness_ops: vec![2],
                },
            ],
            notes: vec!["3 sends, 1 poll".into()],
        },
        Verdict {
            checker: "linearizable".into(),
            validity: Validity::Valid,
            anomalies: vec![],
            notes: vec!["model: cas-register".into()],
        },
    ]
}

#[test]
fn the_text_verdict_lists_anomalies_by_name_with_counts() {
    insta::assert_snapshot!(render_text(&verdicts()));
}

#[test]
fn the_text_verdict_caps_explanations_per_name() {
    let anomaly = |i: usize| Anomaly {
        name: "duplicate".into(),
        fails_run: true,
        explanation: format!("value {i} polled twice\nat offsets 1 and 2"),
        witness_ops: vec![],
    };
    let verdict = Verdict {
        checker: "queue".into(),
        validity: Validity::Invalid,
        anomalies: (0..5).map(anomaly).collect(),
        notes: vec![],
    };
    insta::assert_snapshot!(render_text(&[verdict]));
}

#[test]
fn overall_validity_is_the_worst_of_all_verdicts() {
    let mut all = verdicts();
    assert_eq!(overall_validity(&all), Validity::Invalid);
    all[0].validity = Validity::Unknown;
    assert_eq!(overall_validity(&all), Validity::Unknown);
    assert_eq!(overall_validity(&[]), Validity::Valid);
}

#[test]
fn the_html_report_is_one_self_contained_page_with_three_plots() {
    let history = small_history();
    let pairing = pair(&history).expect("pairs");
    let html = render_html(&history, &pairing, &verdicts());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "latency, throughput, timeline"
    );
    assert_eq!(html.matches("</svg>").count(), 3);
    for external in ["<script", "<link", " src=", "href=", "url(", "https://"] {
        assert!(!html.contains(external), "found {external}");
    }
    assert!(html.contains("History check: <span class=\"verdict invalid\">invalid</span>"));
}

#[test]
fn the_html_report_shows_each_anomaly_with_its_witness_ops() {
    let history = small_history();
    let pairing = pair(&history).expect("pairs");
    let html = render_html(&history, &pairing, &verdicts());
    assert!(html.contains("lost-write <small>× 2 (fails the run)</small>"));
    assert!(html.contains("G0 <small>× 1 (allowed)</small>"));
    assert!(html.contains("class=\"anomaly allowed\""));
    assert!(html.contains("never polled &lt;script&gt;"));
    // Witness op 7 (the poll's completion) and its invocation (op 6, a partner row).
    assert!(html.contains("<tr class=\"ok\"><td>7</td>"));
    assert!(html.contains("<tr class=\"invoke partner\"><td>6</td>"));
    assert!(html.contains("&quot;&lt;b&gt;polled &amp; done&lt;/b&gt;&quot;"));
    assert!(!html.contains("<b>polled"));
    assert!(html.contains("[[:send 10 2]]"));
    assert!(html.contains("<li>model: cas-register</li>"));
}

#[test]
fn the_html_report_shades_fault_windows_and_lists_them() {
    let history = small_history();
    let pairing = pair(&history).expect("pairs");
    let html = render_html(&history, &pairing, &verdicts());
    assert!(html.contains("<h2>Faults</h2>"));
    assert!(html.contains("<tr><td>partition</td><td>0.005</td><td>0.041</td></tr>"));
    assert_eq!(
        html.matches("class=\"nemesis\"").count(),
        3,
        "one band per plot"
    );
}

#[test]
fn a_history_with_no_ops_still_renders() {
    let history = History::default();
    let pairing = pair(&history).expect("pairs");
    let html = render_html(&history, &pairing, &[]);
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(html.contains("verdict valid"));
}

#[test]
fn a_pairing_of_another_history_leaves_out_plots_instead_of_panicking() {
    let history = small_history();
    let html = render_html(
        &history,
        &pair(&History::default()).expect("pairs"),
        &verdicts(),
    );
    assert_eq!(html.matches("<svg").count(), 0);
    assert!(html.contains("does not match this history"));
}

#[test]
fn a_huge_history_is_thinned_in_the_latency_plot() {
    let ops = (0..60_000)
        .flat_map(|i| {
            let process = Process::Client(i % 8);
            [
                op(process.clone(), OpType::Invoke, "read", Value::Nil, i),
                op(process, OpType::Ok, "read", Value::Int(i), i + 1),
            ]
        })
        .collect();
    let history = indexed(ops);
    let pairing = pair(&history).expect("pairs");
    let html = render_html(&history, &pairing, &[]);
    // One circle is the legend's marker for `read`.
    let marks = html.matches("<circle").count() - 1;
    assert!(marks <= LATENCY_POINTS_MAX, "{marks} marks");
    assert!(marks >= LATENCY_POINTS_MAX / 2, "{marks} marks");
    assert!(html.contains("Showing one op in 3 (20000 marks)"));
    assert!(html.len() < 8 << 20, "{} bytes", html.len());
}

fn nemesis(f: &str, time: i64) -> Op {
    op(Process::Nemesis, OpType::Info, f, Value::Nil, time)
}

fn windows(ops: Vec<Op>) -> Vec<(String, i64, i64, bool)> {
    let history = indexed(ops);
    let pairing = pair(&history).expect("pairs");
    nemesis_windows(&history, &pairing)
        .into_iter()
        .map(
            |NemesisWindow {
                 name,
                 start,
                 end,
                 closed,
             }| (name, start / 1_000_000, end / 1_000_000, closed),
        )
        .collect()
}

#[test]
fn start_and_stop_actions_open_and_close_named_windows() {
    let found = windows(vec![
        nemesis("start-partition", 1),
        nemesis("start-partition", 2),
        nemesis("kill", 3),
        nemesis("kill", 4),
        nemesis("stop-partition", 5),
        nemesis("stop-partition", 6),
        nemesis("start", 7),
        nemesis("start", 8),
    ]);
    assert_eq!(
        found,
        vec![
            ("partition".into(), 1, 6, true),
            ("kill".into(), 3, 8, true)
        ]
    );
}

#[test]
fn one_shot_faults_and_unclosed_windows_are_windows_too() {
    let mut ops = vec![
        nemesis("bump-clock", 1),
        nemesis("bump-clock", 2),
        nemesis("pause", 3),
        nemesis("pause", 4),
        nemesis("start", 5),
        nemesis("start", 6),
    ];
    ops.push(op(
        Process::Client(0),
        OpType::Invoke,
        "read",
        Value::Nil,
        20,
    ));
    assert_eq!(
        windows(ops),
        vec![
            ("bump-clock".into(), 1, 2, true),
            ("pause".into(), 3, 20, false),
            ("nemesis".into(), 5, 20, false)
        ]
    );
}

#[test]
fn the_successor_of_a_crashed_process_reuses_its_timeline_row() {
    use OpType::*;
    let history = indexed(vec![
        op(Process::Client(0), Invoke, "read", Value::Nil, 0),
        op(Process::Client(1), Invoke, "read", Value::Nil, 1),
        op(Process::Client(0), Info, "read", Value::Nil, 2),
        op(Process::Client(1), Ok, "read", Value::Nil, 3),
        op(Process::Client(2), Invoke, "read", Value::Nil, 4),
        op(Process::Client(2), Ok, "read", Value::Nil, 5),
    ]);
    let pairing = pair(&history).expect("pairs");
    let html = render_html(&history, &pairing, &[]);
    assert!(html.contains("class=\"legend\">0,2</text>"), "{html}");
    assert!(html.contains("class=\"legend\">1</text>"));
}

#[test]
fn a_witness_outside_the_history_is_reported_not_a_crash() {
    let history = small_history();
    let pairing = pair(&history).expect("pairs");
    let verdict = Verdict {
        checker: "queue".into(),
        validity: Validity::Invalid,
        anomalies: vec![Anomaly {
            name: "duplicate".into(),
            fails_run: true,
            explanation: "bogus witness".into(),
            witness_ops: vec![999],
        }],
        notes: vec![],
    };
    let html = render_html(&history, &pairing, &[verdict]);
    assert!(html.contains("op 999 is not in this history"));
    assert_eq!(html.matches("<svg").count(), 3);
}

#[test]
fn axis_ticks_are_round_and_bounded() {
    use odradek_jepsen::report::svg::{format_tick, log_ticks, nice_ticks};
    assert_eq!(
        nice_ticks(0.0, 10.0, 5),
        vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    );
    assert_eq!(nice_ticks(3.0, 3.0, 5), vec![3.0]);
    assert_eq!(log_ticks(0.05, 200.0), vec![0.1, 1.0, 10.0, 100.0]);
    assert!(log_ticks(0.0, 10.0).is_empty());
    assert_eq!(format_tick(2.5), "2.5");
    assert_eq!(format_tick(1e7), "1e7");
}
