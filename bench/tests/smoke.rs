//! A tiny end-to-end run of the harness against the rxd bench server, in
//! process: 10 connections on two anchors, 20 commits, every delivery
//! counted and stamped. No timing is asserted.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rxd_bench::drive::{subscribers, DriveMode, DriveSpec};
use rxd_bench::hist::Hist;
use rxd_bench::load::{connect, receive, LoadSpec, Mode, Stats};
use rxd_bench::proto::{Proto, Target};
use rxd_bench::server::{run_drive, Shape};

#[tokio::test]
async fn ten_connections_twenty_commits() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let shape = Shape::new(10, 50);
            let (app, router) = rxd_bench::server::router(shape.clone());
            let listener = rxd_bench::sys::listen("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                axum::serve(listener, router).await.unwrap();
            });

            let spec = LoadSpec {
                target: Target {
                    proto: Proto::Rxd,
                    addr,
                },
                anchor_lo: 1,
                anchor_count: 2,
                first: 0,
                conns: 10,
                concurrency: 4,
                block: 77,
                read_buffer: 4096,
                track_seqs: true,
                mode: Mode::Subscribe,
            };
            let stats = Rc::new(RefCell::new(Stats::new(true)));
            for i in 0..spec.conns {
                let (conn, _) = connect(&spec, i).await.expect("connect");
                tokio::task::spawn_local(receive(conn, stats.clone()));
            }

            let drive = DriveSpec::rate(1_000.0, 20, 1, 2).items(1, 3);
            let done = run_drive(&app.hub(), &shape, &drive).await.unwrap();
            assert_eq!(done.commits, 20);
            let expected = drive.expected_deliveries(done.commits, |a| subscribers(10, 1, 2, a));
            assert_eq!(expected, 100);
            // Wait (boundedly) for every delivery.
            for _ in 0..500 {
                if stats.borrow().received() >= expected {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let report = stats.borrow_mut().take();
            assert_eq!(report.received, expected);
            assert_eq!(report.negative, 0);
            assert_eq!(report.seqs.len(), 20);
            assert!(report.seqs.iter().all(|(_, s)| s.count == 5));
            assert_eq!(Hist::from_wire(&report.latency).len(), expected);

            // A batch saving one item five times gives one delta per
            // subscriber; a dropped batch gives none.
            let check = DriveSpec::rate(0.0, 0, 1, 2)
                .items(5, 5)
                .mode(DriveMode::Check)
                .from_seq(1_000);
            run_drive(&app.hub(), &shape, &check).await.unwrap();
            for _ in 0..500 {
                if stats.borrow().received() >= 5 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let report = stats.borrow_mut().take();
            assert_eq!(report.seqs, vec![(1_000, report.seqs[0].1)]);
            assert_eq!(report.seqs[0].1.count, 5);

            // The actions workload's call: the bench channel's `echo`.
            let (mut conn, _) = connect(&spec, 0).await.expect("connect");
            conn.call().await.expect("echo answers");
            conn.call().await.expect("and again");
        })
        .await;
}
