use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use weaksignal_models::classify::textcat::{TextModel, TextParams};
use weaksignal_pipeline::config::Config;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    config: PathBuf,
}

/// Trains the text category classifier on the lake's records whose category was given,
/// reports macro-F1 on held-out texts, fills blank categories and flags likely mislabelled
/// ones (`lake/classified/part-0.parquet`, used by the feature queries).
pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let cfg = Config::load(&a.config)?;
    classify_lake(&cfg, true)?;
    Ok(0)
}

/// Trains the classifier on the lake and writes the filled categories; returns the model's
/// validation figures.
pub(crate) fn classify_lake(
    cfg: &Config,
    verbose: bool,
) -> anyhow::Result<weaksignal_models::classify::textcat::TextMetrics> {
    let lake = cfg.resolve(&cfg.lake);
    let rt = super::runtime()?;
    let rows = rt.block_on(async {
        let ctx = weaksignal_pipeline::features::session(&lake).await?;
        weaksignal_pipeline::features::text_rows(
            &ctx,
            "SELECT record_id, content, COALESCE(category_l2, '') FROM records
             ORDER BY received_at, record_id",
        )
        .await
    })?;
    let (mut ids, mut texts, mut cats) = (vec![], vec![], vec![]);
    for mut r in rows {
        let cat = r.pop().filter(|c| !c.is_empty());
        let text = r.pop().unwrap_or_default();
        ids.push(r.pop().unwrap_or_default());
        texts.push(text);
        cats.push(cat);
    }
    let labelled: Vec<usize> = (0..ids.len()).filter(|&i| cats[i].is_some()).collect();
    let t: Vec<&str> = labelled.iter().map(|&i| texts[i].as_str()).collect();
    let l: Vec<&str> = labelled
        .iter()
        .map(|&i| cats[i].as_deref().unwrap_or(""))
        .collect();
    let t0 = std::time::Instant::now();
    let model = TextModel::train(&t, &l, &TextParams::default())?;
    let m = &model.metrics;
    if verbose {
        println!(
        "text classifier: {} training / {} held-out texts, macro-F1 naive Bayes {:.3}, logistic \
         regression {:.3}; kept {} (accuracy {:.3}) in {:.1} s",
        m.n_train,
        m.n_valid,
        m.macro_f1_naive_bayes,
        m.macro_f1_logistic,
        m.chosen,
        m.accuracy,
        t0.elapsed().as_secs_f64()
    );
    }
    let all: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pred = model.predict(&all);
    let blank = cats.iter().filter(|c| c.is_none()).count();
    let disagree: Vec<bool> = cats
        .iter()
        .zip(&pred)
        .map(|(c, p)| c.as_ref().is_some_and(|c| c != p))
        .collect();
    let flagged = disagree.iter().filter(|&&d| d).count();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("record_id", DataType::Utf8, false),
            Field::new("predicted", DataType::Utf8, false),
            Field::new("fills_blank", DataType::Boolean, false),
            Field::new("mislabel_suspect", DataType::Boolean, false),
        ])),
        vec![
            Arc::new(StringArray::from(ids.clone())),
            Arc::new(StringArray::from(pred.clone())),
            Arc::new(BooleanArray::from(
                cats.iter().map(Option::is_none).collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(disagree)),
        ],
    )?;
    let path = lake.join("classified").join("part-0.parquet");
    weaksignal_pipeline::lake::write_atomic(&path, |f| {
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None)?;
        w.write(&batch)?;
        w.close()?;
        Ok(())
    })?;
    if verbose {
        // The artefact is written on request only: linfa's naive Bayes keeps its classes in a
        // HashMap, so the JSON key order varies between runs, while a nightly run with no new
        // data must leave every output byte-identical.
        let out = cfg
            .resolve(&cfg.scoring.output)
            .join("models")
            .join("textcat.json");
        weaksignal_pipeline::lake::write_atomic(&out, |f| Ok(serde_json::to_writer(f, &model)?))?;
    }
    tracing::info!(
        blank,
        flagged,
        "text classifier filled blank categories and flagged likely mislabels"
    );
    if verbose {
        println!(
            "{blank} blank categories filled, {flagged} given categories flagged as likely \
         mislabelled (of {}); {}",
            ids.len() - blank,
            path.display()
        );
    }
    Ok(model.metrics)
}
