//! Quasi-Poisson GLM with log link, fitted by iteratively reweighted least squares exactly as
//! R's `glm.fit` does it (start at y + 0.1, deviance convergence 1e-8, at most 25 iterations),
//! on the sparse designs Farrington needs: an intercept, an optional linear trend and one
//! dummy per seasonal block.

use crate::linalg::{chol_inverse, chol_solve, cholesky, Workspace};

const EPSILON: f64 = 1e-8;
const MAXIT: usize = 25;

/// One observation's row of the design: the trend value and the dummy column (if any).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub(crate) time: f64,
    /// Column of the seasonal-block dummy (≥ 1 + trend), or `None` for the reference block.
    pub(crate) dummy: Option<usize>,
}

/// A design: rows plus whether the trend column is present and the number of columns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Design {
    pub(crate) rows: Vec<Row>,
    pub(crate) trend: bool,
    pub(crate) p: usize,
}

impl Design {
    /// The linear predictor of a row.
    fn eta(&self, r: &Row, beta: &[f64]) -> f64 {
        let mut e = beta[0];
        if self.trend {
            e += beta[1] * r.time;
        }
        if let Some(c) = r.dummy {
            e += beta[c];
        }
        e
    }

    /// `xᵀ M x` for a row `x` and a symmetric `p × p` matrix `m`: at most three non-zeros.
    fn quad(&self, r: &Row, m: &[f64]) -> f64 {
        let p = self.p;
        let mut idx = [(0usize, 1.0f64); 3];
        let mut k = 1;
        if self.trend {
            idx[k] = (1, r.time);
            k += 1;
        }
        if let Some(c) = r.dummy {
            idx[k] = (c, 1.0);
            k += 1;
        }
        let mut s = 0.0;
        for &(i, xi) in &idx[..k] {
            for &(j, xj) in &idx[..k] {
                s += xi * m[i * p + j] * xj;
            }
        }
        s
    }

    /// Solves the weighted least squares step `min Σ wᵢ (zᵢ − xᵢ·β)²` into `ws.beta`,
    /// building `XᵀWX` in O(n) from the design's structure (an intercept, a trend, one dummy
    /// per row) instead of O(n·p²); leaves its Cholesky factor in `ws.chol`. `false` when it
    /// is not numerically positive definite.
    fn wls(&self, z: &[f64], w: &[f64], ws: &mut Workspace) -> bool {
        let p = self.p;
        ws.xtwx.clear();
        ws.xtwx.resize(p * p, 0.0);
        ws.xtwz.clear();
        ws.xtwz.resize(p, 0.0);
        for (i, r) in self.rows.iter().enumerate() {
            let wi = w[i];
            let wz = wi * z[i];
            ws.xtwx[0] += wi;
            ws.xtwz[0] += wz;
            if self.trend {
                let wt = wi * r.time;
                ws.xtwx[p] += wt;
                ws.xtwx[p + 1] += wt * r.time;
                ws.xtwz[1] += wz * r.time;
                if let Some(c) = r.dummy {
                    ws.xtwx[c * p + 1] += wt;
                }
            }
            if let Some(c) = r.dummy {
                ws.xtwx[c * p] += wi;
                ws.xtwx[c * p + c] += wi;
                ws.xtwz[c] += wz;
            }
        }
        for a in 0..p {
            for b in 0..a {
                ws.xtwx[b * p + a] = ws.xtwx[a * p + b];
            }
        }
        if !cholesky(&ws.xtwx, p, &mut ws.chol) {
            return false;
        }
        ws.beta.clear();
        ws.beta.extend_from_slice(&ws.xtwz);
        chol_solve(&ws.chol, p, &mut ws.beta);
        true
    }
}

/// The fitted model, with what `summary.glm`, `predict.glm` and `hatvalues` need.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fit {
    pub(crate) beta: Vec<f64>,
    pub(crate) mu: Vec<f64>,
    /// Working weights of the last IRLS iteration (R's `fit$weights`).
    pub(crate) w_work: Vec<f64>,
    /// (XᵀWX)⁻¹ of the last iteration (R's `chol2inv(qr$qr)`).
    pub(crate) inv: Vec<f64>,
    /// Pearson dispersion estimate, R's `summary(model)$dispersion`.
    pub(crate) dispersion: f64,
    pub(crate) df_residual: f64,
    pub(crate) converged: bool,
}

/// Scratch buffers, reused across fits.
#[derive(Debug, Default, Clone)]
pub(crate) struct Scratch {
    ws: Workspace,
    z: Vec<f64>,
    w: Vec<f64>,
    eta: Vec<f64>,
}

fn deviance(y: &[f64], mu: &[f64], w: &[f64]) -> f64 {
    let mut d = 0.0;
    for i in 0..y.len() {
        let r = if y[i] > 0.0 {
            y[i] * (y[i] / mu[i]).ln() - (y[i] - mu[i])
        } else {
            mu[i]
        };
        d += 2.0 * w[i] * r;
    }
    d
}

/// Fits `y ~ design` with prior weights `prior`; `None` if the design is singular or the
/// IRLS breaks down (R would stop with "no valid set of coefficients").
pub(crate) fn fit(design: &Design, y: &[f64], prior: &[f64], s: &mut Scratch) -> Option<Fit> {
    let n = y.len();
    let p = design.p;
    let mut mu: Vec<f64> = y.iter().map(|v| v + 0.1).collect();
    s.eta.clear();
    s.eta.extend(mu.iter().map(|m| m.ln()));
    let mut devold = deviance(y, &mu, prior);
    let mut coefold: Option<Vec<f64>> = None;
    let mut converged = false;
    let mut beta = vec![0.0; p];
    for _ in 0..MAXIT {
        s.z.clear();
        s.w.clear();
        for i in 0..n {
            s.z.push(s.eta[i] + (y[i] - mu[i]) / mu[i]);
            s.w.push(prior[i] * mu[i]);
        }
        if !design.wls(&s.z, &s.w, &mut s.ws) {
            return None;
        }
        beta.copy_from_slice(&s.ws.beta);
        let mut dev;
        let mut halvings = 0;
        loop {
            for (i, r) in design.rows.iter().enumerate() {
                let e = design.eta(r, &beta);
                s.eta[i] = e;
                mu[i] = e.exp();
            }
            dev = deviance(y, &mu, prior);
            let valid = dev.is_finite() && mu.iter().all(|m| m.is_finite() && *m > 0.0);
            if valid {
                break;
            }
            let old = coefold.as_ref()?;
            halvings += 1;
            if halvings > MAXIT {
                return None;
            }
            for (b, o) in beta.iter_mut().zip(old) {
                *b = (*b + o) / 2.0;
            }
        }
        if (dev - devold).abs() / (dev.abs() + 0.1) < EPSILON {
            converged = true;
            break;
        }
        devold = dev;
        coefold = Some(beta.clone());
    }
    let rank = p as f64;
    let n_ok = prior.iter().filter(|w| **w > 0.0).count() as f64;
    let df_residual = n_ok - rank;
    let mut pearson = 0.0;
    for i in 0..n {
        if s.w[i] > 0.0 {
            let r = (y[i] - mu[i]) / mu[i];
            pearson += s.w[i] * r * r;
        }
    }
    let dispersion = if df_residual > 0.0 {
        pearson / df_residual
    } else {
        f64::NAN
    };
    // (XᵀWX)⁻¹ of the last iteration, once.
    let Workspace { chol, col, inv, .. } = &mut s.ws;
    chol_inverse(chol, p, col, inv);
    Some(Fit {
        beta,
        mu,
        w_work: s.w.clone(),
        inv: s.ws.inv.clone(),
        dispersion,
        df_residual,
        converged,
    })
}

/// Hat values `w_i xᵢᵀ (XᵀWX)⁻¹ xᵢ`, R's `hatvalues(model)`.
pub(crate) fn hat_values(design: &Design, f: &Fit) -> Vec<f64> {
    design
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| f.w_work[i] * design.quad(r, &f.inv))
        .collect()
}

/// Linear predictor and its standard error at a new row, R's
/// `predict.glm(type = "link", se.fit = TRUE)` with the estimated dispersion.
pub(crate) fn predict_link(design: &Design, f: &Fit, row: &Row) -> (f64, f64) {
    let eta = design.eta(row, &f.beta);
    let se = (design.quad(row, &f.inv) * f.dispersion).sqrt();
    (eta, se)
}
