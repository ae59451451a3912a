# Firth's penalised-likelihood logistic regression, written from its papers
# (logistf is not packaged in Debian's R): Firth D (1993) Bias reduction of
# maximum likelihood estimates, Biometrika 80:27-38; Heinze G, Schemper M
# (2002) A solution to the problem of separation in logistic regression,
# Stat Med 21:2409-19. What is computed is what logistf's defaults report:
#
#   penalised log-likelihood  l*(b) = l(b) + 1/2 log det I(b),  I = X'WX,
#                             W = diag(p (1 - p)), X with an intercept;
#   estimates                 the maximiser of l* (Newton-Raphson on the
#                             modified score U*(b) = X'(y - p + h (1/2 - p)),
#                             h the diagonal of W^1/2 X I^-1 X' W^1/2, with
#                             steps capped at 5 and halved while l* falls),
#                             here iterated to full precision (|step| <
#                             1e-11) rather than to logistf's 1e-5;
#   standard errors           sqrt(diag(I(b)^-1)) at the estimate;
#   intervals                 profile penalised likelihood: the b_j where
#                             2 (l*(b) - max l* given b_j) = qchisq(conf, 1);
#   p-values                  penalised likelihood-ratio test of b_j = 0:
#                             pchisq(2 (l*(b) - max l* given b_j = 0), 1).
#
# make_fixtures.R checks it independently: the estimates against brglm2's
# bias-reduced fit (type = "AS_mean", equal to Firth's for the logit link),
# every constrained maximum against optim() on l* itself.

firth_loglik <- function(X, y, b) {
  eta <- as.vector(X %*% b)
  p <- plogis(eta)
  w <- p * (1 - p)
  ll <- sum(ifelse(y == 1, plogis(eta, log.p = TRUE), plogis(-eta, log.p = TRUE)))
  ll + 0.5 * as.numeric(determinant(crossprod(X, X * w), logarithm = TRUE)$modulus)
}

# The modified score U*(b), the gradient of l*.
firth_score <- function(X, y, b) {
  p <- plogis(as.vector(X %*% b))
  w <- p * (1 - p)
  I <- crossprod(X, X * w)
  h <- rowSums((X %*% solve(I)) * X) * w
  as.vector(crossprod(X, y - p + h * (0.5 - p)))
}

# The Hessian of l* over the coefficients `free`, by central differences of
# U* (steps of 1e-6 relative), symmetrised.
firth_hessian <- function(X, y, b, free) {
  m <- length(free)
  H <- matrix(0, m, m)
  for (a in seq_len(m)) {
    e <- 1e-6 * max(1, abs(b[free[a]]))
    up <- b; up[free[a]] <- b[free[a]] + e
    down <- b; down[free[a]] <- b[free[a]] - e
    H[, a] <- (firth_score(X, y, up)[free] - firth_score(X, y, down)[free]) / (2 * e)
  }
  (H + t(H)) / 2
}

# Maximises l* over the coefficients, coefficient `fixed` (an index, or
# none) held at `value`, from `start`: Fisher scoring (the information I as
# the Hessian, as logistf) while its steps are larger than 0.1, then
# Newton's steps on the Hessian of l* itself (while it is negative
# definite), which converge quadratically where scoring can crawl along a
# flat ridge or cycle.
firth_fit <- function(X, y, fixed = integer(0), value = 0, start = rep(0, ncol(X)), maxit = 5000) {
  k <- ncol(X)
  b <- start
  b[fixed] <- value
  free <- setdiff(seq_len(k), fixed)
  ll <- firth_loglik(X, y, b)
  for (it in seq_len(maxit)) {
    p <- plogis(as.vector(X %*% b))
    w <- p * (1 - p)
    I <- crossprod(X, X * w)
    h <- rowSums((X %*% solve(I)) * X) * w
    U <- as.vector(crossprod(X, y - p + h * (0.5 - p)))
    delta <- rep(0, k)
    delta[free] <- solve(I[free, free, drop = FALSE], U[free])
    if (max(abs(delta)) < 0.1) {
      H <- firth_hessian(X, y, b, free)
      newton <- tryCatch(-solve(H, U[free]), error = function(e) NULL)
      if (!is.null(newton) && all(eigen(H, symmetric = TRUE, only.values = TRUE)$values < 0))
        delta[free] <- newton
    }
    big <- max(abs(delta))
    if (big > 5) delta <- delta * 5 / big
    repeat {
      nb <- b + delta
      nll <- firth_loglik(X, y, nb)
      if (nll >= ll - 1e-13 || max(abs(delta)) < 1e-15) break
      delta <- delta / 2
    }
    b <- nb
    ll <- nll
    if (max(abs(delta)) < 1e-11) break
  }
  if (it == maxit) stop("Firth fit did not converge")
  list(beta = b, loglik = ll, iter = it)
}

firth <- function(X, y, conf = 0.95) {
  X <- cbind(1, X)
  fit <- firth_fit(X, y)
  b <- fit$beta
  p <- plogis(as.vector(X %*% b))
  se <- sqrt(diag(solve(crossprod(X, X * (p * (1 - p))))))
  q <- qchisq(conf, 1)
  # The maximum given b_j = v, started from the estimate with the
  # intercept moved so that the mean linear predictor stays where it was.
  given <- function(j, v) {
    start <- b
    start[j] <- v
    if (j > 1) start[1] <- start[1] - (v - b[j]) * mean(X[, j])
    firth_fit(X, y, j, v, start)
  }
  prof <- function(j, v) 2 * (fit$loglik - given(j, v)$loglik)
  bound <- function(j, dir) {
    # Walk out from the estimate until the profile crosses the level.
    step <- max(se[j], 0.1)
    lo <- b[j]
    hi <- b[j] + dir * step
    while (prof(j, hi) < q) {
      lo <- hi
      step <- step * 2
      hi <- b[j] + dir * step
      if (step > 1e4) return(dir * Inf)
    }
    uniroot(function(v) prof(j, v) - q, sort(c(lo, hi)), tol = 1e-13, maxiter = 500)$root
  }
  k <- ncol(X)
  low <- vapply(seq_len(k), function(j) bound(j, -1), 0)
  high <- vapply(seq_len(k), function(j) bound(j, 1), 0)
  chi <- vapply(seq_len(k), function(j) prof(j, 0), 0)
  list(beta = b, se = se, ci_low = low, ci_high = high,
       chisq = chi, p = pchisq(chi, 1, lower.tail = FALSE), loglik = fit$loglik,
       # for the independent check
       X = X, y = y, given = given)
}

# Independent check of one fit: brglm2's estimates, and optim() on l* for
# the maximum given each interval bound and b_j = 0.
firth_check <- function(f) {
  X <- f$X; y <- f$y
  br <- suppressWarnings(glm(y ~ X[, -1], family = binomial, method = brglm2::brglmFit, type = "AS_mean",
                             control = brglm2::brglmControl(epsilon = 1e-12, maxit = 1000)))
  stopifnot(max(abs(coef(br) - f$beta) / pmax(1, abs(f$beta))) < 1e-7)
  k <- ncol(X)
  # optim() (BFGS, numerical gradients) on l* with b_j = v, from `start`:
  # the best l* it finds.
  constrained <- function(j, v, start) {
    free <- setdiff(seq_len(k), j)
    o <- optim(start, function(bf) { b <- numeric(k); b[j] <- v; b[free] <- bf; -firth_loglik(X, y, b) },
               method = "BFGS", control = list(reltol = 1e-15, maxit = 5000))
    -o$value
  }
  for (j in seq_len(k)) for (v in c(0, f$ci_low[j], f$ci_high[j])) {
    if (!is.finite(v)) next
    g <- f$given(j, v)
    free <- setdiff(seq_len(k), j)
    # From elsewhere, optim reaches the same maximum (to its own,
    # coarser, precision) and never a higher one; from ours, it finds
    # nothing higher.
    away <- constrained(j, v, g$beta[free] + 0.05)
    stopifnot(away <= g$loglik + 1e-9, away >= g$loglik - 1e-3)
    stopifnot(constrained(j, v, g$beta[free]) <= g$loglik + 1e-10)
  }
  invisible(TRUE)
}
