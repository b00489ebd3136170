//! Small dense linear algebra for the regression detectors (a handful of columns, tens of rows).

/// Weighted least squares `min Σ w_i (z_i − x_i·β)²` by the normal equations and a Cholesky
/// factorisation, with the inverse of `XᵀWX` for standard errors and hat values.
///
/// `x` is row-major `n × p`. Reuses the buffers of `ws`; returns `false` when `XᵀWX` is not
/// numerically positive definite (a rank-deficient design).
pub(crate) fn wls(x: &[f64], z: &[f64], w: &[f64], p: usize, ws: &mut Workspace) -> bool {
    let n = z.len();
    ws.xtwx.clear();
    ws.xtwx.resize(p * p, 0.0);
    ws.xtwz.clear();
    ws.xtwz.resize(p, 0.0);
    for i in 0..n {
        let row = &x[i * p..(i + 1) * p];
        let wi = w[i];
        for a in 0..p {
            let wa = wi * row[a];
            ws.xtwz[a] += wa * z[i];
            for b in 0..=a {
                ws.xtwx[a * p + b] += wa * row[b];
            }
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
    // β = (XᵀWX)⁻¹ XᵀWz, and the full inverse.
    ws.inv.clear();
    ws.inv.resize(p * p, 0.0);
    ws.col.clear();
    ws.col.resize(p, 0.0);
    for j in 0..p {
        ws.col.iter_mut().for_each(|v| *v = 0.0);
        ws.col[j] = 1.0;
        chol_solve(&ws.chol, p, &mut ws.col);
        for i in 0..p {
            ws.inv[i * p + j] = ws.col[i];
        }
    }
    ws.beta.clear();
    ws.beta.resize(p, 0.0);
    for i in 0..p {
        ws.beta[i] = (0..p).map(|j| ws.inv[i * p + j] * ws.xtwz[j]).sum();
    }
    true
}

pub(crate) fn cholesky(a: &[f64], p: usize, l: &mut Vec<f64>) -> bool {
    l.clear();
    l.resize(p * p, 0.0);
    let scale = (0..p).map(|i| a[i * p + i].abs()).fold(0.0, f64::max);
    for j in 0..p {
        let mut d = a[j * p + j];
        for k in 0..j {
            d -= l[j * p + k] * l[j * p + k];
        }
        if !(d > scale * 1e-13) {
            return false;
        }
        let d = d.sqrt();
        l[j * p + j] = d;
        for i in j + 1..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            l[i * p + j] = s / d;
        }
    }
    true
}

pub(crate) fn chol_solve(l: &[f64], p: usize, b: &mut [f64]) {
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * p + k] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= l[k * p + i] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
}

/// Reusable buffers for [`wls`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Workspace {
    pub(crate) xtwx: Vec<f64>,
    pub(crate) xtwz: Vec<f64>,
    pub(crate) chol: Vec<f64>,
    pub(crate) inv: Vec<f64>,
    pub(crate) col: Vec<f64>,
    pub(crate) beta: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_recovers_a_line() {
        // y = 2 + 3x exactly.
        let x: Vec<f64> = (0..5).flat_map(|i| [1.0, i as f64]).collect();
        let z: Vec<f64> = (0..5).map(|i| 2.0 + 3.0 * i as f64).collect();
        let w = vec![1.0; 5];
        let mut ws = Workspace::default();
        assert!(wls(&x, &z, &w, 2, &mut ws));
        assert!((ws.beta[0] - 2.0).abs() < 1e-12 && (ws.beta[1] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn rank_deficient_is_refused() {
        let x: Vec<f64> = (0..5).flat_map(|_| [1.0, 1.0]).collect();
        let z = vec![1.0; 5];
        let w = vec![1.0; 5];
        let mut ws = Workspace::default();
        assert!(!wls(&x, &z, &w, 2, &mut ws));
    }
}
