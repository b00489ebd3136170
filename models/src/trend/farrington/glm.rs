//! Quasi-Poisson GLM with log link, fitted by iteratively reweighted least squares exactly as
//! R's `glm.fit` does it (start at y + 0.1, deviance convergence 1e-8, at most 25 iterations),
//! on the sparse designs Farrington needs: an intercept, an optional linear trend and one
//! dummy per seasonal block.

use crate::linalg::Workspace;

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
    /// yᵢ·ln yᵢ and ln(yᵢ + 0.1) of the rows when the caller has them (else empty and
    /// computed by the fit).
    pub(crate) ylny: Vec<f64>,
    pub(crate) eta0: Vec<f64>,
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
    /// per row) instead of O(n·p²); leaves its arrowhead parts in `arrow` (for the
    /// inverse). `false` when it is not positive definite.
    /// The IRLS working response `zᵢ = ηᵢ + (yᵢ − μᵢ)/μᵢ` and weights `wᵢ = ωᵢ μᵢ` are
    /// formed on the fly; the weights are kept in `w`.
    fn wls(
        &self,
        y: &[f64],
        eta: &[f64],
        mu: &[f64],
        prior: &[f64],
        w: &mut Vec<f64>,
        (ws, arrow): (&mut Workspace, &mut Arrowhead),
    ) -> bool {
        // Sums in registers and on the stack (the same additions in the same order as
        // summing into the matrix, which the compiler cannot keep out of memory).
        const MAXP: usize = 66;
        let p = self.p;
        if p > MAXP {
            return false;
        }
        let (mut sw, mut swz, mut swt, mut swtt, mut swzt) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let (mut dw, mut dwt, mut dwz) = ([0.0f64; MAXP], [0.0f64; MAXP], [0.0f64; MAXP]);
        w.clear();
        w.resize(self.rows.len(), 0.0);
        for (i, r) in self.rows.iter().enumerate() {
            let zi = eta[i] + (y[i] - mu[i]) / mu[i];
            let wi = prior[i] * mu[i];
            w[i] = wi;
            let wz = wi * zi;
            sw += wi;
            swz += wz;
            if self.trend {
                let wt = wi * r.time;
                swt += wt;
                swtt += wt * r.time;
                swzt += wz * r.time;
                if let Some(c) = r.dummy {
                    dwt[c] += wt;
                }
            }
            if let Some(c) = r.dummy {
                dw[c] += wi;
                dwz[c] += wz;
            }
        }
        // XᵀWX is an arrowhead: a 1×1 or 2×2 head (intercept, trend) and a diagonal block
        // (one row has at most one dummy). Eliminating the diagonal block leaves the head's
        // Schur complement S = A − Σ bᵢbᵢᵀ/dᵢ: O(p) instead of a p×p Cholesky.
        let first = if self.trend { 2 } else { 1 };
        let h = first;
        let (mut s11, mut s12, mut s22) = (sw, swt, swtt);
        let (mut r1, mut r2) = (swz, swzt);
        for c in first..p {
            let d = dw[c];
            if !(d > 0.0) {
                return false;
            }
            let (b1, b2) = (dw[c], dwt[c]);
            s11 -= b1 * b1 / d;
            r1 -= b1 * dwz[c] / d;
            if h == 2 {
                s12 -= b1 * b2 / d;
                s22 -= b2 * b2 / d;
                r2 -= b2 * dwz[c] / d;
            }
        }
        arrow.head = if h == 2 {
            [s11, s12, s22]
        } else {
            [s11, 0.0, 0.0]
        };
        arrow.d.clear();
        arrow.d.extend_from_slice(&dw[first..p]);
        arrow.bt.clear();
        arrow.bt.extend_from_slice(&dwt[first..p]);
        ws.beta.clear();
        ws.beta.resize(p, 0.0);
        if h == 2 {
            let det = s11 * s22 - s12 * s12;
            if !(s11 > 0.0 && det > 0.0) {
                return false;
            }
            ws.beta[0] = (r1 * s22 - r2 * s12) / det;
            ws.beta[1] = (s11 * r2 - s12 * r1) / det;
        } else {
            if !(s11 > 0.0) {
                return false;
            }
            ws.beta[0] = r1 / s11;
        }
        for c in first..p {
            let mut v = dwz[c] - dw[c] * ws.beta[0];
            if h == 2 {
                v -= dwt[c] * ws.beta[1];
            }
            ws.beta[c] = v / dw[c];
        }
        true
    }
}

/// `XᵀWX` of a Farrington design, an arrowhead: a symmetric 1×1 or 2×2 head (intercept,
/// trend), a diagonal `d` (one dummy per row, so dummies never meet) and the border
/// between them, whose intercept row equals `d` and whose trend row is `bt`. Its inverse
/// follows from the head's Schur complement `S = A − Σ bᵢbᵢᵀ/dᵢ` in O(p²), without a
/// factorisation:
/// `[S⁻¹, −S⁻¹bⱼ/dⱼ; ·, δᵢⱼ/dᵢ + bᵢᵀS⁻¹bⱼ/(dᵢdⱼ)]`.
#[derive(Debug, Default, Clone)]
struct Arrowhead {
    /// The Schur complement `(s₁₁, s₁₂, s₂₂)`; only `s₁₁` without a trend.
    head: [f64; 3],
    d: Vec<f64>,
    bt: Vec<f64>,
}

impl Arrowhead {
    /// The `p × p` inverse, row-major, into `inv` (`wls` has checked that it exists).
    fn inverse(&self, p: usize, inv: &mut Vec<f64>) {
        let h = p - self.d.len();
        let [s11, s12, s22] = self.head;
        // S⁻¹ as (a, b, c) = [[a, b], [b, c]].
        let (a, b, c) = if h == 2 {
            let det = s11 * s22 - s12 * s12;
            (s22 / det, -s12 / det, s11 / det)
        } else {
            (1.0 / s11, 0.0, 0.0)
        };
        inv.clear();
        inv.resize(p * p, 0.0);
        inv[0] = a;
        if h == 2 {
            inv[1] = b;
            inv[p] = b;
            inv[p + 1] = c;
        }
        // uⱼ = S⁻¹bⱼ/dⱼ with bⱼ = (dⱼ, btⱼ) (or (dⱼ) without a trend).
        let u = |j: usize| -> (f64, f64) {
            let d = self.d[j];
            if h == 2 {
                ((a * d + b * self.bt[j]) / d, (b * d + c * self.bt[j]) / d)
            } else {
                (a, 0.0)
            }
        };
        for j in 0..self.d.len() {
            let (u0, u1) = u(j);
            let cj = h + j;
            inv[cj] = -u0;
            inv[cj * p] = -u0;
            if h == 2 {
                inv[p + cj] = -u1;
                inv[cj * p + 1] = -u1;
            }
            // bᵢᵀS⁻¹bⱼ/(dᵢdⱼ) = (bᵢ/dᵢ)ᵀ uⱼ with bᵢ/dᵢ = (1, btᵢ/dᵢ).
            for i in 0..=j {
                let ci = h + i;
                let mut v = u0;
                if h == 2 {
                    v += self.bt[i] / self.d[i] * u1;
                }
                if i == j {
                    v += 1.0 / self.d[j];
                }
                inv[ci * p + cj] = v;
                inv[cj * p + ci] = v;
            }
        }
    }
}

/// The fitted model, with what `summary.glm`, `predict.glm` and `hatvalues` need.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fit {
    pub(crate) beta: Vec<f64>,
    pub(crate) mu: Vec<f64>,
    /// ln μ of every row.
    pub(crate) eta: Vec<f64>,
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
    arrow: Arrowhead,
    w: Vec<f64>,
    eta: Vec<f64>,
    ylny: Vec<f64>,
    level_mu: Vec<f64>,
}

/// Poisson deviance `2 Σ wᵢ (yᵢ ln(yᵢ/μᵢ) − (yᵢ − μᵢ))`, with `yᵢ ln yᵢ` computed once per
/// fit (`ylny`) and `ln μᵢ = ηᵢ`: no logarithm per iteration.
fn deviance(y: &[f64], ylny: &[f64], mu: &[f64], eta: &[f64], w: &[f64]) -> f64 {
    let mut d = 0.0;
    for i in 0..y.len() {
        d += 2.0 * w[i] * unit_deviance(y[i], ylny[i], eta[i], mu[i]);
    }
    d
}

/// One observation's `y ln(y/μ) − (y − μ)` from `y ln y` and `η = ln μ`.
#[inline]
fn unit_deviance(y: f64, ylny: f64, eta: f64, mu: f64) -> f64 {
    if y > 0.0 {
        ylny - y * eta - (y - mu)
    } else {
        mu
    }
}

impl Design {
    /// η and μ = exp(η) of every row, and the deviance with them (in one pass, in row
    /// order) and whether every μ is finite and positive. Without a trend, μ takes one
    /// value per level (one exponential per level); with one, consecutive weeks share the
    /// factor exp(β₁).
    fn predict_deviance(
        &self,
        beta: &[f64],
        (y, ylny, prior): (&[f64], &[f64], &[f64]),
        eta: &mut [f64],
        mu: &mut [f64],
        level_mu: &mut Vec<f64>,
    ) -> (f64, bool) {
        let first = if self.trend { 2 } else { 1 };
        level_mu.clear();
        level_mu.push(beta[0].exp());
        level_mu.extend(beta[first..self.p].iter().map(|b| (beta[0] + b).exp()));
        let step = if self.trend { beta[1].exp() } else { 1.0 };
        let mut last: Option<(f64, f64)> = None; // (time, exp(β₁·time))
        let mut dev = 0.0;
        let mut valid = true;
        for (i, r) in self.rows.iter().enumerate() {
            let (base, level) = match r.dummy {
                Some(c) => (beta[0] + beta[c], level_mu[c + 1 - first]),
                None => (beta[0], level_mu[0]),
            };
            let (e, m) = if self.trend {
                let et = match last {
                    Some((t, e)) if r.time == t + 1.0 => e * step,
                    _ => (beta[1] * r.time).exp(),
                };
                last = Some((r.time, et));
                (base + beta[1] * r.time, level * et)
            } else {
                (base, level)
            };
            eta[i] = e;
            mu[i] = m;
            valid &= m.is_finite() && m > 0.0;
            dev += 2.0 * prior[i] * unit_deviance(y[i], ylny[i], e, m);
        }
        (dev, valid)
    }
}

/// Fits `y ~ design` with prior weights `prior`; `None` if the design is singular or the
/// IRLS breaks down (R would stop with "no valid set of coefficients").
pub(crate) fn fit(design: &Design, y: &[f64], prior: &[f64], s: &mut Scratch) -> Option<Fit> {
    start(design, y, s);
    if !design.trend {
        if let Some(f) = fit_one_way(design, y, prior, s) {
            return Some(f);
        }
    }
    irls(design, y, prior, s)
}

/// R's start `η = ln(y + 0.1)` into `s.eta`, and `y ln y` into `s.ylny`, from the design
/// when the caller computed them.
fn start(design: &Design, y: &[f64], s: &mut Scratch) {
    let n = y.len();
    s.eta.clear();
    if design.eta0.len() == n {
        s.eta.extend_from_slice(&design.eta0);
    } else {
        s.eta.extend(y.iter().map(|v| (v + 0.1).ln()));
    }
    s.ylny.clear();
    if design.ylny.len() == n {
        s.ylny.extend_from_slice(&design.ylny);
    } else {
        s.ylny
            .extend(y.iter().map(|&v| if v > 0.0 { v * v.ln() } else { 0.0 }));
    }
}

/// The general IRLS, row by row, from the start [`start`] left in `s`.
fn irls(design: &Design, y: &[f64], prior: &[f64], s: &mut Scratch) -> Option<Fit> {
    let n = y.len();
    let p = design.p;
    let mut mu: Vec<f64> = y.iter().map(|v| v + 0.1).collect();
    let mut devold = deviance(y, &s.ylny, &mu, &s.eta, prior);
    let mut coefold: Option<Vec<f64>> = None;
    let mut converged = false;
    let mut beta = vec![0.0; p];
    for _ in 0..MAXIT {
        if !design.wls(y, &s.eta, &mu, prior, &mut s.w, (&mut s.ws, &mut s.arrow)) {
            return None;
        }
        beta.copy_from_slice(&s.ws.beta);
        let mut dev;
        let mut halvings = 0;
        loop {
            let (d, mu_ok) = design.predict_deviance(
                &beta,
                (y, &s.ylny, prior),
                &mut s.eta,
                &mut mu,
                &mut s.level_mu,
            );
            dev = d;
            let valid = dev.is_finite() && mu_ok;
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
    s.arrow.inverse(p, &mut s.ws.inv);
    Some(Fit {
        beta,
        mu,
        eta: s.eta.clone(),
        w_work: s.w.clone(),
        inv: s.ws.inv.clone(),
        dispersion,
        df_residual,
        converged,
    })
}

/// The fit without a trend: an intercept and one dummy per level, i.e. one mean per level.
/// IRLS then decouples by level. After the first step (which starts, as R does, from
/// `μᵢ = yᵢ + 0.1` and needs every row), each level's step is
/// `ηₗ ← ηₗ + (ȳₗ − μₗ)/μₗ` with `ȳₗ = Σ ωy / Σ ω`, and the deviance is a sum of per-level
/// totals, so every later iteration costs O(levels) instead of O(rows). The iterates, the
/// stopping point, the last working weights and `(XᵀWX)⁻¹` are R's: with per-level working
/// weights `Wₗ = μₗ Σ ω`, Var(β₀) = 1/W₀, Cov(β₀, βₗ) = −1/W₀, Var(βₗ) = 1/Wₗ + 1/W₀,
/// Cov(βₗ, βₘ) = 1/W₀. `None` (use the general IRLS) for a design it does not cover.
fn fit_one_way(design: &Design, y: &[f64], prior: &[f64], s: &Scratch) -> Option<Fit> {
    let p = design.p;
    let level = |r: &Row| r.dummy.unwrap_or(0);
    let (mut sw, mut swy, mut swylny) = (vec![0.0; p], vec![0.0; p], vec![0.0; p]);
    for (i, r) in design.rows.iter().enumerate() {
        let l = level(r);
        if l >= p {
            return None;
        }
        sw[l] += prior[i];
        swy[l] += prior[i] * y[i];
        swylny[l] += prior[i] * s.ylny[i];
    }
    if sw.iter().any(|w| !(*w > 0.0)) {
        return None;
    }
    let level_dev = |eta: &[f64], mu: &[f64]| -> f64 {
        (0..p)
            .map(|l| 2.0 * (swylny[l] - eta[l] * swy[l] - swy[l] + mu[l] * sw[l]))
            .sum()
    };
    // Start and first step, row by row.
    let mut devold = 0.0;
    let (mut num, mut den) = (vec![0.0; p], vec![0.0; p]);
    for (i, r) in design.rows.iter().enumerate() {
        let (m, e) = (y[i] + 0.1, s.eta[i]);
        devold += 2.0 * prior[i] * unit_deviance(y[i], s.ylny[i], e, m);
        let w = prior[i] * m;
        num[level(r)] += w * (e + (y[i] - m) / m);
        den[level(r)] += w;
    }
    let mut eta: Vec<f64> = (0..p).map(|l| num[l] / den[l]).collect();
    let mut mu: Vec<f64> = eta.iter().map(|e| e.exp()).collect();
    let mut dev = level_dev(&eta, &mu);
    if !dev.is_finite() || (dev - devold).abs() / (dev.abs() + 0.1) < EPSILON {
        return None; // converged in one step: its weights are per row
    }
    devold = dev;
    let mut mu_old = mu.clone();
    let mut converged = false;
    for _ in 1..MAXIT {
        mu_old.copy_from_slice(&mu);
        for l in 0..p {
            eta[l] += (swy[l] / sw[l] - mu[l]) / mu[l];
            mu[l] = eta[l].exp();
        }
        dev = level_dev(&eta, &mu);
        if !dev.is_finite() || mu.iter().any(|m| !(m.is_finite() && *m > 0.0)) {
            return None;
        }
        if (dev - devold).abs() / (dev.abs() + 0.1) < EPSILON {
            converged = true;
            break;
        }
        devold = dev;
    }
    let mut beta = eta.clone();
    for l in 1..p {
        beta[l] -= eta[0];
    }
    let big_w: Vec<f64> = (0..p).map(|l| mu_old[l] * sw[l]).collect();
    let mut inv = vec![1.0 / big_w[0]; p * p];
    for l in 1..p {
        inv[l] = -1.0 / big_w[0];
        inv[l * p] = -1.0 / big_w[0];
        inv[l * p + l] = 1.0 / big_w[l] + 1.0 / big_w[0];
    }
    let mut rows_mu = Vec::with_capacity(y.len());
    let mut rows_eta = Vec::with_capacity(y.len());
    let mut w_work = Vec::with_capacity(y.len());
    let mut pearson = 0.0;
    for (i, r) in design.rows.iter().enumerate() {
        let l = level(r);
        let ww = prior[i] * mu_old[l];
        if ww > 0.0 {
            let res = (y[i] - mu[l]) / mu[l];
            pearson += ww * res * res;
        }
        rows_mu.push(mu[l]);
        rows_eta.push(eta[l]);
        w_work.push(ww);
    }
    let n_ok = prior.iter().filter(|v| **v > 0.0).count() as f64;
    let df_residual = n_ok - p as f64;
    Some(Fit {
        beta,
        mu: rows_mu,
        eta: rows_eta,
        w_work,
        inv,
        dispersion: if df_residual > 0.0 {
            pearson / df_residual
        } else {
            f64::NAN
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-way design: `levels` blocks of `per` rows, the first the reference level.
    fn one_way(levels: usize, per: usize) -> Design {
        let rows = (0..levels * per)
            .map(|i| Row {
                time: (i + 1) as f64,
                dummy: (i / per > 0).then_some(i / per),
            })
            .collect();
        Design {
            rows,
            trend: false,
            p: levels,
            ..Default::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-10 * a.abs().max(b.abs()).max(1e-300)
    }

    /// The arrowhead step and inverse against the dense normal equations of the same
    /// design (`linalg::wls`, a Cholesky of the full `XᵀWX`), with and without a trend.
    #[test]
    fn arrowhead_step_and_inverse_match_the_dense_solution() {
        for trend in [false, true] {
            let mut d = one_way(5, 7);
            d.trend = trend;
            if trend {
                d.p += 1;
                for r in &mut d.rows {
                    r.dummy = r.dummy.map(|c| c + 1);
                }
            }
            let n = d.rows.len();
            let y: Vec<f64> = (0..n).map(|i| ((i * 31) % 11) as f64 + 0.5).collect();
            let eta: Vec<f64> = (0..n).map(|i| 1.0 + 0.02 * i as f64).collect();
            let mu: Vec<f64> = eta.iter().map(|e| e.exp()).collect();
            let prior: Vec<f64> = (0..n).map(|i| 0.5 + (i % 3) as f64).collect();
            let (mut w, mut ws, mut arrow) =
                (Vec::new(), Workspace::default(), Arrowhead::default());
            assert!(d.wls(&y, &eta, &mu, &prior, &mut w, (&mut ws, &mut arrow)));
            let mut inv = Vec::new();
            arrow.inverse(d.p, &mut inv);
            let p = d.p;
            let mut x = vec![0.0; n * p];
            for (i, r) in d.rows.iter().enumerate() {
                x[i * p] = 1.0;
                if trend {
                    x[i * p + 1] = r.time;
                }
                if let Some(c) = r.dummy {
                    x[i * p + c] = 1.0;
                }
            }
            let z: Vec<f64> = (0..n).map(|i| eta[i] + (y[i] - mu[i]) / mu[i]).collect();
            let mut dense = Workspace::default();
            assert!(crate::linalg::wls(&x, &z, &w, p, &mut dense));
            for (u, v) in ws.beta.iter().zip(&dense.beta) {
                assert!((u - v).abs() <= 1e-9 * v.abs().max(1.0), "beta {u} vs {v}");
            }
            for (u, v) in inv.iter().zip(&dense.inv) {
                assert!((u - v).abs() <= 1e-9 * v.abs().max(1e-6), "inv {u} vs {v}");
            }
        }
    }

    #[test]
    fn one_way_fit_follows_the_irls_path() {
        let d = one_way(4, 9);
        let y: Vec<f64> = (0..36).map(|i| ((i * 7919) % 13) as f64).collect();
        let mut with_zero_level = y.clone();
        with_zero_level[9..18].iter_mut().for_each(|v| *v = 0.0);
        let prior: Vec<f64> = (0..36).map(|i| 0.5 + (i % 5) as f64 / 4.0).collect();
        for (y, w) in [
            (&y, &prior),
            (&with_zero_level, &prior),
            (&y, &vec![1.0; 36]),
        ] {
            let mut s = Scratch::default();
            start(&d, y, &mut s);
            let a = fit_one_way(&d, y, w, &s).expect("one-way design");
            let b = irls(&d, y, w, &mut s).expect("fits");
            assert_eq!(a.converged, b.converged);
            for (u, v) in a.beta.iter().zip(&b.beta) {
                assert!(close(*u, *v), "beta {u} vs {v}");
            }
            for (u, v) in a.mu.iter().zip(&b.mu).chain(a.w_work.iter().zip(&b.w_work)) {
                assert!(close(*u, *v), "{u} vs {v}");
            }
            for (u, v) in a.inv.iter().zip(&b.inv) {
                assert!((u - v).abs() <= 1e-9 * v.abs().max(1e-6), "inv {u} vs {v}");
            }
            assert!(close(a.dispersion, b.dispersion));
            assert_eq!(a.df_residual, b.df_residual);
        }
    }
}
