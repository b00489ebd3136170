//! Masks each line of standard input as the ingest masks a record's text (the built-in
//! name cues and the identifier masks) and prints it: for measuring the masking on word
//! lists and sentences (`bench/names_eval.py`).

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
