//! Small dense symmetric positive-definite linear algebra (Cholesky).
//!
//! The information matrices of logistic and Cox models have one row per
//! covariate, so a hand-written Cholesky factorisation is all that is
//! needed and keeps the dependency footprint small.

/// Row-major square matrix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SymMat {
    pub n: usize,
    pub a: Vec<f64>,
}

impl SymMat {
    pub fn zeros(n: usize) -> Self {
        SymMat {
            n,
            a: vec![0.0; n * n],
        }
    }
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.n + j]
    }
    #[inline]
    pub fn add(&mut self, i: usize, j: usize, v: f64) {
        self.a[i * self.n + j] += v;
    }
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.a[i * self.n + j] = v;
    }
}

/// Lower-triangular Cholesky factor `L` with `A = L Lᵀ`.
#[derive(Debug, Clone)]
pub(crate) struct Cholesky {
    n: usize,
    l: Vec<f64>,
}

impl Cholesky {
    /// Factorises `a`. Fails (`None`) if a pivot is not positive or is tiny
    /// relative to the matrix diagonal (`rel_tol`), i.e. the matrix is
    /// singular or not positive definite to working precision.
    pub fn new(a: &SymMat, rel_tol: f64) -> Option<Self> {
        let n = a.n;
        let mut l = vec![0.0; n * n];
        let max_diag = (0..n).map(|i| a.get(i, i).abs()).fold(0.0_f64, f64::max);
        if !max_diag.is_finite() {
            return None;
        }
        for j in 0..n {
            let mut d = a.get(j, j);
            for k in 0..j {
                d -= l[j * n + k] * l[j * n + k];
            }
            if !(d > rel_tol * max_diag) || !d.is_finite() {
                return None;
            }
            let djj = d.sqrt();
            l[j * n + j] = djj;
            for i in (j + 1)..n {
                let mut s = a.get(i, j);
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = s / djj;
            }
        }
        Some(Cholesky { n, l })
    }

    /// Solves `A x = b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = self.n;
        let mut y = b.to_vec();
        for i in 0..n {
            let row = &self.l[i * n..i * n + i];
            let s: f64 = row.iter().zip(&y[..i]).map(|(l, v)| l * v).sum();
            y[i] = (y[i] - s) / self.l[i * n + i];
        }
        for i in (0..n).rev() {
            let s: f64 = ((i + 1)..n)
                .zip(&y[i + 1..])
                .map(|(k, v)| self.l[k * n + i] * v)
                .sum();
            y[i] = (y[i] - s) / self.l[i * n + i];
        }
        y
    }

    /// The inverse `A⁻¹`.
    pub fn inverse(&self) -> SymMat {
        let n = self.n;
        let mut inv = SymMat::zeros(n);
        let mut e = vec![0.0; n];
        for j in 0..n {
            e.iter_mut().for_each(|v| *v = 0.0);
            e[j] = 1.0;
            let col = self.solve(&e);
            for (i, v) in col.iter().enumerate() {
                inv.set(i, j, *v);
            }
        }
        // symmetrise
        for i in 0..n {
            for j in 0..i {
                let v = 0.5 * (inv.get(i, j) + inv.get(j, i));
                inv.set(i, j, v);
                inv.set(j, i, v);
            }
        }
        inv
    }

    /// ln det A (= 2 Σ ln Lᵢᵢ).
    pub fn log_det(&self) -> f64 {
        (0..self.n).map(|i| 2.0 * self.l[i * self.n + i].ln()).sum()
    }

    /// The quadratic form `bᵀ A⁻¹ b`.
    pub fn quad_inv(&self, b: &[f64]) -> f64 {
        let x = self.solve(b);
        x.iter().zip(b).map(|(u, v)| u * v).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_and_inverse() {
        let mut a = SymMat::zeros(2);
        a.set(0, 0, 4.0);
        a.set(0, 1, 2.0);
        a.set(1, 0, 2.0);
        a.set(1, 1, 3.0);
        let c = Cholesky::new(&a, 1e-12).expect("positive definite");
        let x = c.solve(&[2.0, 1.0]);
        assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15);
        let inv = c.inverse();
        assert!((inv.get(0, 0) - 3.0 / 8.0).abs() < 1e-15);
        assert!((inv.get(0, 1) + 2.0 / 8.0).abs() < 1e-15);
        let mut s = SymMat::zeros(2);
        s.set(0, 0, 1.0);
        s.set(0, 1, 1.0);
        s.set(1, 0, 1.0);
        s.set(1, 1, 1.0);
        assert!(Cholesky::new(&s, 1e-12).is_none());
    }
}
