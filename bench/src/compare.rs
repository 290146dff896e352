//! Two runs' tables side by side (`scripts/bench.sh --compare REV`): every
//! row the new run printed, each figure as `old → new (new/old×)`, so a
//! slower path shows the day it lands. Rows are matched by their table's
//! header and their first cell; a row only one run has says so.

use std::collections::HashMap;

/// A markdown table of a run's output: its header line and its rows
/// (cells, first cell the row's name).
struct Table {
    header: String,
    rows: Vec<Vec<String>>,
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|cell| cell.trim().to_owned())
        .collect()
}

fn tables(output: &str) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut lines = output.lines().peekable();
    while let Some(line) = lines.next() {
        let is_header = line.starts_with('|')
            && lines
                .peek()
                .is_some_and(|next| next.starts_with("|---") || next.starts_with("|:--"));
        if !is_header {
            continue;
        }
        lines.next();
        let mut table = Table {
            header: line.trim().to_owned(),
            rows: Vec::new(),
        };
        while let Some(row) = lines.next_if(|l| l.starts_with('|')) {
            table.rows.push(cells(row));
        }
        tables.push(table);
    }
    tables
}

/// A table's identity: its header without figures (a load table's
/// header names rates measured in that run, such as `50 % (23796/s)`).
fn identity(header: &str) -> String {
    header.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// A figure and its unit's scale to a common base (seconds, bytes, or 1).
fn figure(cell: &str) -> Option<(f64, &'static str)> {
    let mut words = cell.split_whitespace();
    let number = words
        .next()?
        .trim_end_matches("/s")
        .trim_end_matches(['×', '%']);
    let value: f64 = number.replace(',', "").parse().ok()?;
    let (scale, kind) = match words.next() {
        None => (1.0, "count"),
        Some("ns") => (1e-9, "time"),
        Some("µs") => (1e-6, "time"),
        Some("ms") => (1e-3, "time"),
        Some("s") => (1.0, "time"),
        Some("KiB") => (1024.0, "size"),
        Some("MiB") => (1024.0 * 1024.0, "size"),
        Some("GiB") => (1024.0 * 1024.0 * 1024.0, "size"),
        Some(_) => return None,
    };
    Some((value * scale, kind))
}

fn compared(old: &str, new: &str) -> String {
    match (figure(old), figure(new)) {
        (Some((a, ka)), Some((b, kb))) if ka == kb && a > 0.0 => {
            format!("{old} → {new} ({:.2}×)", b / a)
        }
        _ if old == new => new.to_owned(),
        _ => format!("{old} → {new}"),
    }
}

/// The new run's tables, each figure beside the old run's.
pub fn side_by_side(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let mut before: HashMap<(String, String), Vec<String>> = HashMap::new();
    for table in tables(old) {
        for row in table.rows {
            before.insert((identity(&table.header), row[0].clone()), row);
        }
    }
    let mut out = format!(
        "Each figure: {old_name} → {new_name} ({new_name}/{old_name}, of a cell's first figure).\n"
    );
    for table in tables(new) {
        let header = cells(&table.header);
        out.push('\n');
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        out.push_str(&format!("|---{}|\n", "|---:".repeat(header.len() - 1)));
        for row in &table.rows {
            let line = match before.get(&(identity(&table.header), row[0].clone())) {
                Some(old_row) => {
                    let mut line = vec![row[0].clone()];
                    for (i, cell) in row.iter().enumerate().skip(1) {
                        let old_cell = old_row.get(i).map_or("", String::as_str);
                        line.push(compared(old_cell, cell));
                    }
                    line
                }
                None => {
                    let mut line = row.clone();
                    line[0] = format!("{} (only in {new_name})", row[0]);
                    line
                }
            };
            out.push_str(&format!("| {} |\n", line.join(" | ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "hookhost bench\n\n| path | p50 | events/s |\n|---|---:|---:|\n| wasm hook | 10.0 µs | 90000 |\n| gone | 1.0 µs | 5 |\nratio line\n";
    const NEW: &str = "hookhost bench\n\n| path | p50 | events/s |\n|---|---:|---:|\n| wasm hook | 12.0 µs | 90000 |\n| added | 2.0 ms | 7 |\n";

    #[test]
    fn figures_are_set_beside_the_old_run_with_their_ratio() {
        let text = side_by_side(OLD, NEW, "abc1234", "HEAD");
        assert!(
            text.contains("| wasm hook | 10.0 µs → 12.0 µs (1.20×) | 90000 → 90000 (1.00×) |"),
            "{text}"
        );
        assert!(
            text.contains("| added (only in HEAD) | 2.0 ms | 7 |"),
            "{text}"
        );
        assert!(!text.contains("gone"), "only the new run's rows: {text}");
    }

    #[test]
    fn tables_whose_headers_name_this_runs_rates_are_matched() {
        let old = "| path | 50 % (23796/s): p50 |\n|---|---:|\n| serve | 10.0 µs |\n";
        let new = "| path | 50 % (20101/s): p50 |\n|---|---:|\n| serve | 20.0 µs |\n";
        let text = side_by_side(old, new, "a", "b");
        assert!(
            text.contains("| serve | 10.0 µs → 20.0 µs (2.00×) |"),
            "{text}"
        );
    }

    #[test]
    fn units_are_compared_on_one_scale() {
        assert_eq!(compared("900 ns", "1.8 µs"), "900 ns → 1.8 µs (2.00×)");
        assert_eq!(compared("30 MiB", "15 MiB"), "30 MiB → 15 MiB (0.50×)");
        assert_eq!(compared("1.5×", "3.0×"), "1.5× → 3.0× (2.00×)");
        assert_eq!(compared("21013/s", "12600/s"), "21013/s → 12600/s (0.60×)");
        assert_eq!(compared("yes", "no"), "yes → no");
        assert_eq!(compared("—", "—"), "—");
    }
}
