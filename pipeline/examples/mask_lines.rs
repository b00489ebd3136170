//! Masks the personal names in each line of standard input as the ingest does with the
//! built-in cues (identifiers are left as they are) and prints it: for measuring the name
//! masking on word lists and sentences (`bench/names_eval.py`). With a taxonomy
//! (`mask_lines taxonomy.csv`), a name also ends before its categories and aliases, as in the
//! ingest.

use std::io::{BufRead, Write};

fn main() -> std::io::Result<()> {
    let names = match std::env::args().nth(1) {
        Some(path) => {
            let taxonomy = weaksignal_pipeline::registry::Taxonomy::load(path.as_ref())
                .map_err(std::io::Error::other)?;
            weaksignal_pipeline::names::Names::new(&[]).with_terms(taxonomy.terms())
        }
        None => weaksignal_pipeline::names::Names::new(&[]),
    };
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line?;
        let masked = names.mask(line.as_str().into());
        writeln!(out, "{masked}")?;
    }
    Ok(())
}
