//! Masks the personal names in each line of standard input as the ingest does with the
//! built-in cues (identifiers are left as they are) and prints it: for measuring the name
//! masking on word lists and sentences (`bench/names_eval.py`).

use std::io::{BufRead, Write};

fn main() -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line?;
        let masked = weaksignal_pipeline::names::mask_names(line.as_str().into());
        writeln!(out, "{masked}")?;
    }
    Ok(())
}
