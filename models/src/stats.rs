//! Distribution functions with R's conventions (`qnorm`, `pt`, `qnbinom`, …), on top of statrs.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::beta_reg;
use statrs::function::gamma::gamma_ur;

/// Standard normal quantile, R's `qnorm(p)`.
pub fn qnorm(p: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(n) => n.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// Standard normal upper tail, R's `pnorm(x, lower.tail = FALSE)`.
pub fn pnorm_upper(x: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(n) => n.sf(x),
        Err(_) => f64::NAN,
    }
}

/// Student t distribution function, R's `pt(x, df)`.
pub fn pt(x: f64, df: f64) -> f64 {
    if !x.is_finite() {
        return if x.is_nan() {
            f64::NAN
        } else if x > 0.0 {
            1.0
        } else {
            0.0
        };
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.cdf(x),
        Err(_) => f64::NAN,
    }
}

/// Student t quantile, R's `qt(p, df)`.
pub fn qt(p: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// Poisson distribution function `P(X <= k)`, R's `ppois(k, lambda)`.
pub fn ppois(k: f64, lambda: f64) -> f64 {
    if k < 0.0 {
        return 0.0;
    }
    if lambda <= 0.0 {
        return 1.0;
    }
    gamma_ur(k.floor() + 1.0, lambda)
}

/// Negative binomial distribution function `P(X <= k)` with R's `size`/`prob` parameters.
pub fn pnbinom(k: f64, size: f64, prob: f64) -> f64 {
    if k < 0.0 {
        return 0.0;
    }
    if prob >= 1.0 {
        return 1.0;
    }
    beta_reg(size, k.floor() + 1.0, prob)
}

/// Smallest integer `x` with `cdf(x) >= p`, searched from a normal start, as R's
/// discrete quantile functions do (with R's fuzz of 64 machine epsilons).
fn discrete_quantile(p: f64, mean: f64, sd: f64, cdf: impl Fn(f64) -> f64) -> f64 {
    if !(0.0..1.0).contains(&p) || !mean.is_finite() || !sd.is_finite() {
        return f64::NAN;
    }
    let target = p * (1.0 - 64.0 * f64::EPSILON);
    let mut x = (mean + sd * qnorm(p)).round().max(0.0);
    if cdf(x) >= target {
        while x > 0.0 && cdf(x - 1.0) >= target {
            x -= 1.0;
        }
    } else {
        while cdf(x) < target {
            x += 1.0;
        }
    }
    x
}

/// Poisson quantile, R's `qpois(p, lambda)`.
pub fn qpois(p: f64, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    discrete_quantile(p, lambda, lambda.sqrt(), |k| ppois(k, lambda))
}

/// Negative binomial quantile, R's `qnbinom(p, size, prob)`.
pub fn qnbinom(p: f64, size: f64, prob: f64) -> f64 {
    if !(size > 0.0 && prob > 0.0 && prob <= 1.0) {
        return f64::NAN;
    }
    let mean = size * (1.0 - prob) / prob;
    let sd = (mean / prob).sqrt();
    discrete_quantile(p, mean, sd, |k| pnbinom(k, size, prob))
}

/// Sample mean and standard deviation (denominator `n - 1`), as R's `mean` and `sd`.
pub fn mean_sd(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let mut n = 0.0;
    let mut sum = 0.0;
    for v in values.clone() {
        n += 1.0;
        sum += v;
    }
    let mean = sum / n;
    let mut ss = 0.0;
    for v in values {
        ss += (v - mean) * (v - mean);
    }
    (mean, (ss / (n - 1.0)).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values printed by R 4.2 (Debian r-base-core) with `digits = 16`:
    // qnorm(0.999), qt(0.99, 27), qpois(0.95, 3.2), qnbinom(0.95, size = 2.5, prob = 0.4),
    // ppois(4, 3.2), pt(2, 10).
    #[test]
    fn matches_r_reference_values() {
        assert!((qnorm(0.999) - 3.090232306167813).abs() < 1e-12);
        assert!((qt(0.99, 27.0) - 2.4726599119560064).abs() < 1e-8);
        assert_eq!(qpois(0.95, 3.2), 6.0);
        assert_eq!(qnbinom(0.95, 2.5, 0.4), 10.0);
        assert!((ppois(4.0, 3.2) - 0.7806125110673043).abs() < 1e-12);
        assert!((pt(2.0, 10.0) - 0.9633059826146297).abs() < 1e-10);
    }

    #[test]
    fn mean_sd_matches_r() {
        // R: sd(c(1, 2, 4, 8)) = 3.095696
        let (m, s) = mean_sd([1.0, 2.0, 4.0, 8.0].into_iter());
        assert!((m - 3.75).abs() < 1e-15);
        assert!((s - 3.095695936834452).abs() < 1e-12);
    }
}
