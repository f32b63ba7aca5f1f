//! Every integration suite of the project, as modules of ONE test binary
//! (`cargo test -p counterpart-tests --test suites [FILTER]`).
//!
//! Why one binary: most suites wait, not compute. A Docker suite waits on
//! a scenario clock of seconds a day, a fault suite on its senders' retry
//! backoff, an attack on a refused handshake: measured on CI's two cores,
//! the in-process fault suite ran 71 s at 0.1 of a core and the compose
//! upgrade over 200 s at a fraction of one. As 24 binaries, `cargo test`
//! ran them one after another, each waiting alone. In one binary libtest
//! runs two tests at a time (one per core) from every suite, so one
//! suite's waiting overlaps another's work, and the suites link once.
//!
//! libtest starts the tests in the order of their names, each on the
//! first free lane. The node image now takes seconds (the test build's
//! binaries, `counterpart_tests::docker::ensure_image`), so what orders
//! the Docker suites is the load they make: hubei-2020 in compose (36
//! containers; on the development machine's fuse-overlayfs storage, most
//! of it the daemons' I/O, load average about 20 on two cores) must not
//! run beside the suites that wait on wall-clock scenario days. Sorted first, as
//! `compose_smoke`, it ran beside the fault suite, whose seed 1 then took
//! 139 days against a bound of 45. As `hubei_2020_in_compose` it starts
//! about where it ran behind the old static image build, beside
//! `hubei_2020` and `lockstep`, which keep time by the lockstep clock.
//! `recovery_in_containers` and `rolling_upgrade_in_compose` sort after
//! the suites that mostly wait, where they belong by what they test; the
//! compose upgrade, which waits on a slow scenario clock, runs beside the
//! simulator, which computes.
//!
//! What that asks of a suite, since its neighbour may be any other:
//! - nothing process-wide is changed (no `std::env::set_var`: a variable a
//!   suite's nodes need is given to the child processes it starts);
//! - what only one cluster at a time can hold is claimed for as long as it
//!   is held (the compose file's published port:
//!   [`counterpart_tests::docker::compose::claim_central_port`]);
//! - a wall-clock limit leaves room for a neighbour's load.
//!
//! | module | what it runs |
//! |---|---|
//! | [`small_cluster`], [`recovery`], [`faults_small`], [`bad_input`], [`message_size`] | the small scenario in-process: the protocol end to end, crashes, injected faults, refusals |
//! | [`recovery_in_containers`] | the small scenario in containers of the node image (testcontainers): a donor killed, central restarted, a city cut off |
//! | [`attacks`] | a mutual-TLS cluster under attack |
//! | [`hubei_2020`], [`lockstep`], [`earthquake`], [`long_stay`], [`traces`], [`supervisor`], [`reconcile_cli`], [`dashboard_browser`] | `pairctl up` as a user runs it: real processes on loopback |
//! | [`fault_suite`] | seeded crashes and partitions of real processes |
//! | [`mixed_versions`], [`upgrade_in_place`], [`rolling_upgrade`] | this build beside the previous release |
//! | [`rolling_upgrade_in_compose`] | the same upgrade, container by container, in the committed compose file |
//! | [`simulator`], [`sweep`] | the deterministic simulator and the policy sweep |
//! | [`wire_bytes`] | the fuzz target's entry point under proptest |
//! | [`hubei_2020_in_compose`] | the committed compose file as the README runs it: the image built, hubei-2020 in 36 containers |

mod attacks;
mod bad_input;
mod dashboard_browser;
mod earthquake;
mod fault_suite;
mod faults_small;
mod hubei_2020;
mod hubei_2020_in_compose;
mod lockstep;
mod long_stay;
mod message_size;
mod mixed_versions;
mod reconcile_cli;
mod recovery;
mod recovery_in_containers;
mod rolling_upgrade;
mod rolling_upgrade_in_compose;
mod simulator;
mod small_cluster;
mod supervisor;
mod sweep;
mod traces;
mod upgrade_in_place;
mod wire_bytes;
