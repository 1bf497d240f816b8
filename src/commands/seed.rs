//! `retour seed --synthetic`: realistic synthetic cases for load tests.

use anyhow::Context;
use retour_store::Store;

use crate::cli::SeedArgs;

/// Generates and loads synthetic cases with a progress bar, then prints what was loaded.
pub(crate) async fn seed_synthetic(
    store: &Store,
    cases: u64,
    args: &SeedArgs,
) -> anyhow::Result<()> {
    use retour_store::synthetic;
    let options = synthetic::Options {
        cases,
        seed: args.seed,
        batch: usize::try_from(args.batch).unwrap_or(10_000),
        connections: usize::try_from(args.connections).unwrap_or(2),
        from: args.from,
        as_of: args.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
    };
    eprintln!(
        "generating {cases} synthetic cases (seed {}, from {} as of {}, {} per transaction, \
         {} connections)",
        options.seed, options.from, options.as_of, options.batch, options.connections
    );
    let bar = indicatif::ProgressBar::new(cases);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} cases, {rate}, eta {eta} {msg}",
        )
        .context("progress bar template")?
        .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} cases/s", state.per_sec());
        })
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let report = synthetic::load(store, &options, |progress| {
        bar.set_position(progress.cases);
        bar.set_message(format!("({} rows)", progress.rows));
    })
    .await
    .context("seeding synthetic cases")?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {} cases ({} rows, {} access-log events sealed) in {seconds:.1} s: {:.0} cases/s",
        report.cases,
        report.rows,
        report.audit_events,
        report.cases as f64 / seconds.max(0.001)
    );
    let statuses: Vec<String> =
        report.statuses.iter().map(|(status, n)| format!("{status} {n}")).collect();
    println!("by status: {}", statuses.join(", "));
    let held = report.holdings;
    println!(
        "held: {} reassignments, {} canton transfers, {} four-eyes proposals",
        held.reassignments, held.transfers, held.proposals
    );
    Ok(())
}
