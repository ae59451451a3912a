# Generates the reference fixtures for sclerad-stats.
#
# Usage (from anywhere):  Rscript crates/sclerad-stats/r/make_fixtures.R
# Needs:  apt-get install -y r-base-core r-cran-survival r-cran-psych r-cran-brglm2
# Made with R 4.2.2, survival 3.5-3, psych 2.2.9, brglm2 0.9 (Debian bookworm).
#
# Output: crates/sclerad-stats/tests/fixtures/*.json. JSON is written by hand
# (jsonlite is not assumed) with every number as sprintf("%.17g"), so the
# values round-trip exactly to f64. NA/NaN are written as null, +/-Inf as the
# strings "Inf"/"-Inf". The fixtures are committed, so the Rust tests never
# need R.
#
# Every R default that is part of the specification is stated next to the
# case generator that relies on it.

suppressPackageStartupMessages({
  library(survival)
  library(psych)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else getwd()
outdir <- normalizePath(file.path(here, "..", "tests", "fixtures"), mustWork = FALSE)
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

# ---------------------------------------------------------------- JSON ----
fmt <- function(v) {
  v <- as.double(v)
  vapply(v, function(x) {
    if (is.na(x)) "null"
    else if (is.infinite(x)) if (x > 0) '"Inf"' else '"-Inf"'
    else sprintf("%.17g", x)
  }, "")
}
num <- function(x) if (is.null(x) || length(x) == 0) "null" else { stopifnot(length(x) == 1); fmt(x) }
arr <- function(v) paste0("[", paste(fmt(v), collapse = ","), "]")
barr <- function(v) paste0("[", paste(ifelse(v, "true", "false"), collapse = ","), "]")
sarr <- function(v) paste0("[", paste0('"', v, '"', collapse = ","), "]")
str <- function(s) paste0('"', s, '"')
bool <- function(b) if (isTRUE(b)) "true" else "false"
mat <- function(m) paste0("[", paste(apply(m, 1, arr), collapse = ","), "]")
cols <- function(m) paste0("[", paste(apply(m, 2, arr), collapse = ","), "]")
obj <- function(...) {
  l <- list(...)
  l <- l[!vapply(l, is.null, TRUE)]
  paste0("{", paste(sprintf('"%s":%s', names(l), unlist(l)), collapse = ","), "}")
}
write_cases <- function(file, cases) {
  writeLines(c("[", paste(cases, collapse = ",\n"), "]"), file.path(outdir, file))
  cat(sprintf("%-28s %5d cases\n", file, length(cases)))
}
meta <- function() obj(
  r_version = str(paste(R.version$major, R.version$minor, sep = ".")),
  survival = str(as.character(packageVersion("survival"))),
  psych = str(as.character(packageVersion("psych")))
)
# Runs expr, recording errors and warnings.
capture <- function(expr) {
  warns <- character()
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(msg = conditionMessage(e)), class = "captured_error")),
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") }
  )
  list(value = val, warnings = warns, error = inherits(val, "captured_error"))
}

writeLines(meta(), file.path(outdir, "versions.json"))

# --------------------------------------------------------- distributions ----
# Tail probabilities and quantiles used everywhere else (pnorm/pt/pchisq upper
# tails, qnorm, qt, qbeta).
set.seed(20261101)
cases <- character()
for (z in c(0, 0.5, 1, 1.96, 3, 5, 8.3, 10, 20, 30, 37, 38.5))
  cases <- c(cases, obj(f = str("norm_sf"), x = num(z), value = num(pnorm(z, lower.tail = FALSE))))
# large df: t_sf switches to its own continued fraction above df = 1e5
for (df in c(1, 2, 3.5, 7.25, 10, 29.9, 100, 1000, 9999, 2e4, 9e4, 4e5, 1e6, 1e7, 1e9))
  for (t in c(0.1, 1, 2.5, 5, 12, 40, 300))
    cases <- c(cases, obj(f = str("t_sf"), x = num(t), df = num(df), value = num(pt(t, df, lower.tail = FALSE))))
for (df in c(1, 2, 3, 4, 9, 16, 25))
  for (x in c(0.01, 0.5, 1, 3.84, 10, 50, 200, 400))
    cases <- c(cases, obj(f = str("chisq_sf"), x = num(x), df = num(df), value = num(pchisq(x, df, lower.tail = FALSE))))
for (p in c(1e-300, 1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999))
  cases <- c(cases, obj(f = str("qnorm"), x = num(p), value = num(qnorm(p))))
for (df in c(1, 2, 3.7, 9, 30, 123.4, 1000, 3e5, 7e5, 1e7))
  for (p in c(1e-12, 0.005, 0.025, 0.6, 0.975, 0.995))
    cases <- c(cases, obj(f = str("qt"), x = num(p), df = num(df), value = num(qt(p, df))))
for (ab in list(c(1, 1), c(0.5, 3), c(3, 8), c(20, 2), c(150, 851), c(1, 1000), c(999, 2)))
  for (p in c(1e-200, 0.025, 0.5, 0.975)) {
    cases <- c(cases, obj(f = str("qbeta"), x = num(p), a = num(ab[1]), b = num(ab[2]), lower = "true",
                          value = num(qbeta(p, ab[1], ab[2]))))
    cases <- c(cases, obj(f = str("qbeta"), x = num(p), a = num(ab[1]), b = num(ab[2]), lower = "false",
                          value = num(qbeta(p, ab[1], ab[2], lower.tail = FALSE))))
  }
write_cases("dist.json", cases)

# ----------------------------------------------------------- descriptive ----
# mean(), sd() (n - 1), quantile(type = 7) at fixed probabilities.
set.seed(1)
probs <- c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)
samples <- list(
  c(4.2), c(1, 2), c(3, 1, 2), c(5, 5, 5, 5), c(-1.5, 2.25, 1e-3, 7, 7),
  rnorm(10), rnorm(50, 10, 3), round(rnorm(100, 50, 10)), rexp(500, 0.1),
  1e6 + rnorm(200), rnorm(37) * 1e-8, runif(3), c(1e15, 1, -1e15, 2)
)
cases <- vapply(samples, function(x) obj(
  x = arr(x), mean = num(mean(x)), sd = num(if (length(x) > 1) sd(x) else NA),
  probs = arr(probs), quantiles = arr(quantile(x, probs, type = 7, names = FALSE))
), "")
write_cases("descriptive.json", cases)

# counts / percentages: table(x), 100 * prop.table(table(x))
set.seed(2)
cats <- list(c(1, 2, 2, 3, 3, 3), sample(1:5, 97, replace = TRUE), c(7), sample(c(0, 10), 1000, TRUE, prob = c(.1, .9)))
cases <- vapply(cats, function(x) {
  tb <- table(x)
  obj(x = arr(x), values = arr(as.numeric(names(tb))), n = arr(as.vector(tb)),
      percent = arr(as.vector(100 * prop.table(tb))))
}, "")
write_cases("counts.json", cases)

# ------------------------------------------------------------ proportions ----
# Wilson: prop.test(x, n, correct = FALSE)$conf.int
# Clopper-Pearson: binom.test(x, n)$conf.int
set.seed(3)
xn <- list(c(0, 1), c(1, 1), c(0, 10), c(10, 10), c(3, 10), c(1, 100), c(50, 100), c(99, 100),
           c(7, 13), c(0, 1000), c(1, 1000), c(500, 1000), c(999, 1000), c(123, 4567), c(2, 3),
           c(15, 17), c(0, 50000), c(49999, 50000))
for (i in 1:20) { n <- sample(c(5, 20, 80, 300, 2000), 1); xn[[length(xn) + 1]] <- c(rbinom(1, n, runif(1)), n) }
cases <- vapply(xn, function(v) {
  x <- v[1]; n <- v[2]
  w <- suppressWarnings(prop.test(x, n, correct = FALSE)$conf.int)
  cp <- binom.test(x, n)$conf.int
  obj(x = num(x), n = num(n), wilson = arr(w), clopper_pearson = arr(cp))
}, "")
write_cases("proportion.json", cases)

# ----------------------------------------------------------------- 2 x 2 ----
# m <- matrix(c(a, c, b, d), 2): rows exposed/unexposed, columns outcome +/-.
# chisq.test(m, correct = FALSE / TRUE) (TRUE = Yates, R's default for 2x2);
# fisher.test(m): two-sided p (tables with dhyper <= observed * (1 + 1e-7)),
# conditional MLE odds ratio and exact 95% CI (uniroot, default tolerance).
# Woolf (Wald) OR CI and risk ratio log-Wald CI have no base-R function; they
# are written out here (= epitools::oddsratio.wald / riskratio.wald without
# correction).
set.seed(4)
tabs <- list(c(3, 1, 1, 3), c(10, 20, 30, 5), c(0, 5, 5, 0), c(0, 10, 3, 7), c(5, 0, 2, 8),
             c(1, 1, 1, 1), c(0, 0, 3, 4), c(2, 3, 0, 0), c(12, 5, 0, 9), c(1, 0, 0, 1),
             c(100, 100, 100, 100), c(1, 99, 30, 70), c(250, 750, 300, 700), c(0, 1000, 5, 995),
             c(1000, 1, 1, 1000), c(40, 60, 80, 20), c(7, 0, 0, 7), c(20, 1, 1, 20), c(3, 17, 9, 11),
             c(500, 480, 510, 470), c(25, 0, 25, 0), c(2, 998, 0, 1000))
for (i in 1:150) {
  size <- sample(c(5, 12, 40, 150, 800, 3000), 1)
  tabs[[length(tabs) + 1]] <- rpois(4, size * runif(4, 0.1, 1))
}
table_case <- function(v) {
  a <- v[1]; b <- v[2]; c <- v[3]; d <- v[4]
  m <- matrix(c(a, c, b, d), 2)
  cp <- suppressWarnings(chisq.test(m, correct = FALSE))
  cy <- suppressWarnings(chisq.test(m, correct = TRUE))
  ok <- is.finite(cp$statistic)
  ft <- fisher.test(m)
  z <- qnorm(0.975)
  orw <- if (all(v > 0)) {
    or <- (a * d) / (b * c); se <- sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    c(or, exp(log(or) - z * se), exp(log(or) + z * se))
  } else c(NA, NA, NA)
  rr <- if (a > 0 && c > 0) {
    r <- (a / (a + b)) / (c / (c + d)); se <- sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    c(r, exp(log(r) - z * se), exp(log(r) + z * se))
  } else c(NA, NA, NA)
  obj(a = num(a), b = num(b), c = num(c), d = num(d),
      chisq = if (ok) num(cp$statistic) else "null", p_chisq = if (ok) num(cp$p.value) else "null",
      chisq_yates = if (ok) num(cy$statistic) else "null", p_chisq_yates = if (ok) num(cy$p.value) else "null",
      expected = if (ok) arr(t(cp$expected)) else "null",
      p_fisher = num(ft$p.value), or_cond = num(ft$estimate), or_cond_ci = arr(ft$conf.int),
      or_wald = arr(orw), rr_wald = arr(rr))
}
write_cases("table2x2.json", vapply(tabs, table_case, ""))

# ----------------------------------------------------------------- R x C ----
# chisq.test(m) (Yates only ever applies to 2x2), and fisher.test(m) for the
# tables larger than 2 x 2 (FEXACT; the cases are small enough for R's
# default workspace and for sclerad's enumeration).
set.seed(5)
cases <- character()
shapes <- list(c(2, 3), c(3, 2), c(3, 3), c(2, 5), c(4, 4), c(5, 3), c(2, 2))
for (rep in 1:4) for (s in shapes) {
  repeat {
    m <- matrix(rpois(s[1] * s[2], sample(c(2, 10, 60), 1)), s[1])
    if (all(rowSums(m) > 0) && all(colSums(m) > 0)) break
  }
  r <- suppressWarnings(chisq.test(m))
  cases <- c(cases, obj(rows = mat(m), statistic = num(r$statistic), df = num(r$parameter),
                        p = num(r$p.value), expected = mat(r$expected)))
}
write_cases("table_rxc.json", cases)

# Fisher's exact test for R x C tables: random tables of the shapes a Table 1
# row or a category by subset gives, small to moderate totals (sclerad
# enumerates the tables, so it takes margins allowing at most 2e7 of them:
# totals up to 120 with two rows, 60 with three or more), zero cells and
# empty rows or columns among them; and a few by hand (ties, a 2 x 6 of the
# demo's size, a table whose observed arrangement is the most probable one).
set.seed(15)
fisher_cases <- list(matrix(c(3, 1, 0, 1, 3, 2), 2), matrix(c(0, 0, 5, 4, 3, 0), 2),
                     matrix(c(10, 12, 9, 11, 4, 6, 8, 7, 5, 3, 2, 1), 2),
                     matrix(c(2, 2, 2, 2, 2, 2, 2, 2, 2), 3), matrix(c(5, 0, 0, 0, 5, 0, 0, 0, 5), 3),
                     matrix(c(1, 0, 0, 1, 0, 0), 2))
for (rep in 1:6) for (s in list(c(2, 3), c(3, 2), c(3, 3), c(2, 4), c(2, 6), c(4, 3), c(3, 4))) {
  repeat {
    m <- matrix(rpois(s[1] * s[2], sample(c(1, 3, 8, 15), 1)), s[1])
    if (sum(m) > 0 && sum(m) <= (if (min(s) >= 3) 60 else 120)) break
  }
  fisher_cases[[length(fisher_cases) + 1]] <- m
}
cases <- vapply(fisher_cases, function(m) {
  obj(rows = mat(m), p = num(fisher.test(m)$p.value))
}, "")
write_cases("fisher_rxc.json", cases)

# --------------------------------------------------------------- t tests ----
# t.test(x, y) (Welch, R's default) and t.test(x, y, var.equal = TRUE).
set.seed(6)
pairs <- list(list(c(1, 2), c(3, 4.5)), list(c(1, 2, 3), c(10)), list(c(5, 5), c(5, 5)),
              list(rnorm(100), rnorm(100, 5)), list(rnorm(400, 0, 1), rnorm(300, 30, 2)))
for (i in 1:30) {
  nx <- sample(c(2, 3, 5, 8, 15, 40, 120, 500), 1); ny <- sample(c(2, 3, 6, 10, 25, 90, 500), 1)
  x <- rnorm(nx, 0, runif(1, 0.2, 3)); y <- rnorm(ny, runif(1, -2, 2), runif(1, 0.2, 3))
  if (i %% 5 == 0) { x <- round(x); y <- round(y) }
  pairs[[length(pairs) + 1]] <- list(x, y)
}
tt <- function(x, y, ve) {
  r <- capture(t.test(x, y, var.equal = ve))
  if (r$error) return("null")
  t <- r$value
  obj(t = num(t$statistic), df = num(t$parameter), p = num(t$p.value), ci = arr(t$conf.int),
      estimate = arr(t$estimate), stderr = num(t$stderr))
}
cases <- vapply(pairs, function(p) obj(x = arr(p[[1]]), y = arr(p[[2]]),
                                        welch = tt(p[[1]], p[[2]], FALSE),
                                        student = tt(p[[1]], p[[2]], TRUE)), "")
write_cases("ttest.json", cases)

# --------------------------------------------------------------- wilcoxon ----
# wilcox.test(x, y): exact when both n < 50 and no ties, otherwise normal
# approximation with continuity correction and tie-corrected variance.
set.seed(7)
pairs <- list(list(c(1.5), c(2.5)), list(c(1, 2, 3), c(4, 5, 6)), list(c(3, 1, 2), c(2, 5)),
              list(rep(1, 4), rep(1, 3)), list(rnorm(49), rnorm(49) + 1), list(rnorm(49), rnorm(50)),
              list(rnorm(300), rnorm(400) + 3), list(c(1, 1, 2, 2, 3), c(2, 3, 3, 4, 4, 5)))
for (i in 1:30) {
  nx <- sample(c(1, 2, 3, 5, 10, 20, 35, 49, 60, 150, 500), 1); ny <- sample(c(1, 3, 4, 9, 30, 48, 80, 300), 1)
  x <- rnorm(nx); y <- rnorm(ny, runif(1, -1, 1.5))
  if (i %% 3 == 0) { x <- round(x * 2); y <- round(y * 2) }
  pairs[[length(pairs) + 1]] <- list(x, y)
}
cases <- vapply(pairs, function(p) {
  x <- p[[1]]; y <- p[[2]]
  r <- suppressWarnings(wilcox.test(x, y))
  ties <- length(unique(c(x, y))) < length(c(x, y))
  obj(x = arr(x), y = arr(y), w = num(r$statistic), p = num(r$p.value),
      exact = bool(length(x) < 50 && length(y) < 50 && !ties))
}, "")
write_cases("wilcox.json", cases)

# ---------------------------------------------------------------- shapiro ----
# shapiro.test(x), 3 <= n <= 5000 (Royston AS R94).
set.seed(8)
samples <- list(c(1, 2, 3), c(1, 2, 4), c(0, 0, 1), c(2.1, 3.3, 1.2, 8), c(1, 1, 1, 2),
                c(0, 0, 0, 0, 1), c(rep(0, 9), 1), c(rep(0, 10), 1), c(-3, -1, 0, 1, 20, 21))
for (n in c(3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 20, 30, 50, 100, 250, 500, 1000, 2500, 5000)) {
  samples[[length(samples) + 1]] <- rnorm(n)
  if (n <= 1000) samples[[length(samples) + 1]] <- rexp(n)
  if (n <= 500) samples[[length(samples) + 1]] <- round(runif(n) * 5)
  if (n %in% c(20, 100, 5000)) samples[[length(samples) + 1]] <- rt(n, 2)
}
cases <- vapply(samples, function(x) {
  r <- shapiro.test(x)
  obj(x = arr(x), w = num(r$statistic), p = num(r$p.value))
}, "")
write_cases("shapiro.json", cases)

# --------------------------------------------------------------- p.adjust ----
set.seed(9)
pv <- list(c(0.5), c(0.01, 0.04), c(0.04, 0.01, 0.03), c(0, 1, 0.5, 0.5, 0.02),
           c(0.01, 0.01, 0.01, 0.2, 0.2), runif(10), runif(50)^3, c(rbeta(150, 0.3, 4), runif(50)),
           c(1e-300, 1e-10, 0.049, 0.05, 0.051, 0.9, 1, 1))
methods <- c("holm", "hochberg", "hommel", "bonferroni", "BH", "BY")
cases <- vapply(pv, function(p) {
  l <- lapply(methods, function(m) arr(p.adjust(p, m)))
  names(l) <- methods
  do.call(obj, c(list(p = arr(p)), l))
}, "")
write_cases("padjust.json", cases)

# ------------------------------------------------------------ Kaplan-Meier ----
# survfit(Surv(time, event) ~ 1): Greenwood, conf.type = "log", 95%.
set.seed(10)
surv_sets <- list(
  list(c(1, 2, 2, 3), c(1, 1, 1, 1)),
  list(c(1, 2, 2, 3, 3), c(1, 0, 1, 0, 1)),
  list(c(5), c(1)), list(c(5), c(0)), list(c(2, 4, 6), c(0, 0, 0)),
  list(c(1, 1, 1, 2, 2, 5, 5, 5, 8), c(1, 0, 1, 1, 0, 1, 1, 0, 0)),
  list(c(0, 0, 1, 3, 3, 4), c(1, 0, 1, 1, 1, 0)),
  list(c(1, 2, 3, 4), c(1, 1, 0, 0)),
  list(c(1, 2, 3, 4), c(1, 1, 1, 1)),            # median on a flat 0.5 step: midpoint
  list(c(2, 2, 4, 4, 6, 9), c(1, 1, 0, 1, 1, 0))
)
for (n in c(10, 30, 100, 500)) {
  t <- rexp(n, 0.1); cns <- rexp(n, 0.05)
  tm <- pmin(t, cns); ev <- as.numeric(t <= cns)
  if (n >= 100) tm <- ceiling(tm)
  surv_sets[[length(surv_sets) + 1]] <- list(tm, ev)
}
cases <- vapply(surv_sets, function(s) {
  f <- survfit(Surv(s[[1]], s[[2]]) ~ 1)
  med <- unname(summary(f)$table["median"])
  obj(time = arr(s[[1]]), event = barr(s[[2]] == 1), t = arr(f$time), n_risk = arr(f$n.risk),
      n_event = arr(f$n.event), n_censor = arr(f$n.censor), surv = arr(f$surv),
      se_log = arr(f$std.err), lower = arr(f$lower), upper = arr(f$upper), median = num(med))
}, "")
write_cases("km.json", cases)

# ---------------------------------------------------------------- logrank ----
# survdiff(Surv(time, event) ~ group), rho = 0.
set.seed(11)
lr_sets <- list(
  list(c(1, 2, 3, 4, 5, 6), c(1, 1, 0, 1, 0, 1), c(1, 1, 1, 2, 2, 2)),
  list(c(1, 1, 2, 2, 3, 3, 4, 4), c(1, 1, 1, 0, 1, 1, 0, 1), c(1, 2, 1, 2, 1, 2, 1, 2)),
  list(c(0.5, 0.5, 1, 2, 3, 4, 5), c(0, 0, 1, 1, 1, 1, 0), c(3, 3, 1, 2, 1, 2, 1))
)
for (k in c(2, 2, 3, 4)) for (n in c(20, 80, 400)) {
  g <- sample(1:k, n, TRUE)
  t <- rexp(n, 0.1 * g^0.5); cns <- rexp(n, 0.04)
  tm <- pmin(t, cns); ev <- as.numeric(t <= cns)
  if (n > 50) tm <- round(tm)
  lr_sets[[length(lr_sets) + 1]] <- list(tm, ev, g)
}
cases <- vapply(lr_sets, function(s) {
  d <- survdiff(Surv(s[[1]], s[[2]]) ~ s[[3]])
  obj(time = arr(s[[1]]), event = barr(s[[2]] == 1), group = arr(s[[3]]), chisq = num(d$chisq),
      df = num(sum(d$exp > 0) - 1), p = num(d$pvalue), observed = arr(d$obs), expected = arr(d$exp))
}, "")
write_cases("logrank.json", cases)

# -------------------------------------------------------------------- cox ----
# coxph(Surv(time, event) ~ X, ties = "efron" (default) / "breslow"),
# coxph.control() defaults; summary.coxph tests (logtest, waldtest, sctest).
# summary.coxph rounds the Wald statistic to 2 decimals for display (its
# p-value uses the unrounded one), so the unrounded fit$wald.test is stored.
set.seed(12)
cox_sets <- list()
add_cox <- function(tm, ev, X) cox_sets[[length(cox_sets) + 1]] <<- list(tm, ev, as.matrix(X))
for (n in c(15, 40, 120, 600)) {
  g <- rbinom(n, 1, 0.5); t <- rexp(n, 0.1 * exp(0.6 * g)); cns <- rexp(n, 0.05)
  tm <- pmin(t, cns); ev <- as.numeric(t <= cns)
  add_cox(tm, ev, cbind(g))
  add_cox(ceiling(tm), ev, cbind(g))            # heavy ties
  x1 <- rnorm(n); x2 <- runif(n, 20, 80); x3 <- rbinom(n, 1, 0.3)
  t <- rexp(n, 0.05 * exp(0.4 * x1 + 0.02 * x2 - 0.5 * x3)); cns <- rexp(n, 0.03)
  tm <- pmin(t, cns); ev <- as.numeric(t <= cns)
  add_cox(tm, ev, cbind(x1, x2, x3))
  add_cox(round(tm, 0), ev, cbind(x1, x2, x3))
  add_cox(round(tm, 1), ev, cbind(x1))
}
# monotone likelihood (no events in one group): R warns, we must error
add_cox(c(1, 2, 3, 4, 5, 6, 7, 8), c(1, 1, 1, 1, 0, 0, 0, 0), cbind(c(1, 1, 1, 1, 0, 0, 0, 0)))
ev_m <- c(1, 1, 1, 0, 1, 1, 0, 1, 0, 1)  # covariate = event indicator
add_cox(c(3, 1, 4, 1, 5, 9, 2, 6, 5, 3), ev_m, cbind(ev_m, rnorm(10)))
cases <- character()
for (s in cox_sets) for (ties in c("efron", "breslow")) {
  X <- s[[3]]
  r <- capture(coxph(Surv(s[[1]], s[[2]]) ~ X, ties = ties))
  infinite <- any(grepl("infinite|did not converge", r$warnings))
  if (r$error || infinite) {
    cases <- c(cases, obj(time = arr(s[[1]]), event = barr(s[[2]] == 1), x = cols(X), ties = str(ties),
                          error = str(if (r$error) "error" else "separation")))
    next
  }
  f <- r$value; sm <- summary(f)
  ci <- sm$conf.int
  ci90 <- summary(f, conf.int = 0.9)$conf.int
  cases <- c(cases, obj(
    time = arr(s[[1]]), event = barr(s[[2]] == 1), x = cols(X), ties = str(ties),
    coef = arr(coef(f)), se = arr(sqrt(diag(f$var))), z = arr(sm$coefficients[, "z"]),
    p = arr(sm$coefficients[, "Pr(>|z|)"]), hr = arr(ci[, "exp(coef)"]),
    hr_low = arr(ci[, "lower .95"]), hr_high = arr(ci[, "upper .95"]),
    hr_low_90 = arr(ci90[, "lower .90"]), hr_high_90 = arr(ci90[, "upper .90"]),
    loglik = arr(f$loglik), lr = arr(sm$logtest), wald = arr(c(unname(f$wald.test), sm$waldtest[c("df", "pvalue")])), score = arr(sm$sctest),
    iter = num(f$iter)))
}
write_cases("cox.json", cases)

# --------------------------------------------------------------- logistic ----
# glm(y ~ X, family = binomial), glm.control() defaults; summary.glm Wald z;
# ORs with exp(confint.default(fit)) (Wald, not profile likelihood);
# LR test = null.deviance - deviance on p df.
set.seed(13)
lg_sets <- list()
add_lg <- function(y, X) lg_sets[[length(lg_sets) + 1]] <<- list(y, as.matrix(X))
for (n in c(20, 60, 200, 2000)) {
  x1 <- rnorm(n); x2 <- rbinom(n, 1, 0.4); x3 <- runif(n, 30, 70)
  y <- rbinom(n, 1, plogis(-0.5 + 0.8 * x1 + 0.7 * x2 + 0.01 * (x3 - 50)))
  add_lg(y, cbind(x1))
  add_lg(y, cbind(x2))
  add_lg(y, cbind(x1, x2, x3))
}
add_lg(c(0, 0, 1, 1, 0, 1, 1, 0, 1, 1), cbind(c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)))
add_lg(rep(c(0, 1), 50), cbind(rep(c(5, 5.001), 50) + rnorm(100, 0, 1)))
# separation cases: R warns "fitted probabilities numerically 0 or 1" or
# returns huge coefficients/SEs; the Rust routine must report separation.
add_lg(c(0, 0, 0, 1, 1, 1), cbind(c(1, 2, 3, 4, 5, 6)))                              # complete
add_lg(c(0, 0, 1, 1, 1, 0, 1, 0), cbind(c(0, 0, 0, 1, 1, 0, 1, 0)))                  # quasi (zero cell)
add_lg(c(0, 0, 0, 1, 0, 1, 1, 1), cbind(c(1, 2, 3, 4, 4, 5, 6, 7)))                  # quasi (tie at 4)
add_lg(c(0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0), cbind(rnorm(12), c(0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0)))
cases <- character()
sep_flags <- c(rep(FALSE, length(lg_sets) - 4), rep(TRUE, 4))
for (i in seq_along(lg_sets)) {
  s <- lg_sets[[i]]; y <- s[[1]]; X <- s[[2]]
  if (sep_flags[i]) {
    cases <- c(cases, obj(y = barr(y == 1), x = cols(X), error = str("separation")))
    next
  }
  r <- capture(glm(y ~ X, family = binomial))
  stopifnot(!r$error, length(r$warnings) == 0)
  f <- r$value; sm <- summary(f); cf <- sm$coefficients
  ci <- exp(confint.default(f))
  lr <- f$null.deviance - f$deviance; df <- f$df.null - f$df.residual
  cases <- c(cases, obj(
    y = barr(y == 1), x = cols(X), coef = arr(cf[, 1]), se = arr(cf[, 2]), z = arr(cf[, 3]), p = arr(cf[, 4]),
    or = arr(exp(cf[, 1])), or_low = arr(ci[, 1]), or_high = arr(ci[, 2]),
    deviance = num(f$deviance), null_deviance = num(f$null.deviance), aic = num(f$aic),
    df_residual = num(f$df.residual), lr = num(lr), lr_df = num(df),
    lr_p = num(pchisq(lr, df, lower.tail = FALSE)), iter = num(f$iter)))
}
write_cases("logistic.json", cases)

# ------------------------------------------------------------------ Firth ----
# Firth's penalised logistic regression as logistf's defaults report it
# (penalised estimates, Wald-type standard errors from the inverse
# information, profile penalised-likelihood intervals, penalised
# likelihood-ratio p-values): the reference is firth.R, written from
# Heinze & Schemper (2002), since logistf is not packaged in Debian's R;
# each case is checked there against brglm2 and optim().
source(file.path(here, "firth.R"))
suppressPackageStartupMessages(library(brglm2))
set.seed(17)
fs <- list()
add_f <- function(y, X, conf = 0.95) fs[[length(fs) + 1]] <<- list(y = y, X = as.matrix(X), conf = conf)
# Separation, complete and quasi-complete: no ML estimate, a Firth one.
add_f(c(0, 0, 0, 1, 1, 1), cbind(c(1, 2, 3, 4, 5, 6)))
add_f(c(0, 0, 1, 1, 1, 0, 1, 0), cbind(c(0, 0, 0, 1, 1, 0, 1, 0)))
add_f(c(0, 0, 0, 1, 0, 1, 1, 1), cbind(c(1, 2, 3, 4, 4, 5, 6, 7)))
# A study's shape: 77 patients, a rare exposure (9) and a rare outcome (8),
# adjusted for age, sex, subset and disease duration; with and without
# events among the exposed, and a zero cell.
for (rep in 1:4) {
  n <- 77
  age <- round(rnorm(n, 57, 11), 1); female <- rbinom(n, 1, 0.88); dc <- rbinom(n, 1, 0.29)
  dur <- round(rexp(n, 1 / 11), 2); expo <- sample(rep(c(1, 0), c(9, n - 9)))
  y <- rbinom(n, 1, plogis(-3 + 2.2 * expo + 0.02 * (age - 57)))
  if (rep == 3) y[expo == 0 & dc == 1] <- 0
  if (rep == 4) y[expo == 0] <- rbinom(sum(expo == 0), 1, 0.05)
  add_f(y, cbind(expo, age, female, dc, dur), conf = if (rep == 2) 0.9 else 0.95)
}
for (n in c(15, 40, 120, 400)) for (k in c(1, 3)) {
  X <- matrix(rnorm(n * k), n)
  X[, 1] <- rbinom(n, 1, 0.3)
  y <- rbinom(n, 1, plogis(-1 + X %*% rep(0.7, k)))
  add_f(y, X)
}
cases <- character()
for (s in fs) {
  f <- firth(s$X, s$y, s$conf)
  firth_check(f)
  cases <- c(cases, obj(y = barr(s$y == 1), x = cols(s$X), conf = num(s$conf),
                        beta = arr(f$beta), se = arr(f$se), ci_low = arr(f$ci_low), ci_high = arr(f$ci_high),
                        chisq = arr(f$chisq), p = arr(f$p), loglik = num(f$loglik)))
}
write_cases("firth.json", cases)

# ----------------------------------------------------------------- Fleiss ----
# Fleiss' kappa (Fleiss 1971) with the standard error under the null of
# Fleiss, Nee & Landis (1979), as irr::kappam.fleiss(exact = FALSE) computes
# them (irr is not packaged in Debian's R; this is written from the
# formulas): counts = subjects x categories, n_ij raters putting subject i
# in category j; p = 2 * pnorm(-|z|). Checked here: with 2 raters, Fleiss'
# kappa is Scott's pi, computed independently from the 2 x 2 table.
fleiss <- function(counts) {
  ns <- nrow(counts); nr <- sum(counts[1, ])
  pj <- colSums(counts) / (ns * nr); qj <- 1 - pj
  agree <- sum((rowSums(counts^2) - nr) / (nr * (nr - 1)) / ns)
  chance <- sum(pj^2)
  kappa <- (agree - chance) / (1 - chance)
  se <- sqrt((2 / (sum(pj * qj)^2 * (ns * nr * (nr - 1)))) * (sum(pj * qj)^2 - sum(pj * qj * (qj - pj))))
  z <- kappa / se
  c(kappa = kappa, se = se, z = z, p = 2 * pnorm(-abs(z)))
}
scott_pi <- function(a, b) {
  po <- mean(a == b); m <- mean(c(a, b)); pe <- m^2 + (1 - m)^2
  (po - pe) / (1 - pe)
}
set.seed(19)
cases <- character()
for (rep in 1:24) {
  ns <- sample(c(8, 30, 77, 300), 1); nr <- sample(c(2, 3, 4, 6), 1); k <- sample(c(2, 2, 3), 1)
  truth <- sample(seq_len(k), ns, replace = TRUE, prob = c(0.6, rep(0.4 / (k - 1), k - 1)))
  ratings <- sapply(seq_len(nr), function(r) ifelse(runif(ns) < 0.75, truth, sample(seq_len(k), ns, replace = TRUE)))
  counts <- t(apply(ratings, 1, function(x) tabulate(x, k)))
  if (any(colSums(counts) == 0)) next
  f <- fleiss(counts)
  if (nr == 2 && k == 2) stopifnot(abs(f[["kappa"]] - scott_pi(ratings[, 1] == 1, ratings[, 2] == 1)) < 1e-12)
  cases <- c(cases, obj(counts = mat(counts), kappa = num(f[["kappa"]]), se = num(f[["se"]]),
                        z = num(f[["z"]]), p = num(f[["p"]])))
}
write_cases("fleiss.json", cases)

# ------------------------------------------------------------------ kappa ----
# Cohen's kappa and weighted kappa with the Fleiss, Cohen & Everitt (1969)
# large-sample variance, written out here from the paper:
#   var = [sum_ij p_ij (w_ij - (wr_i + wc_j)(1 - k))^2 - (k - pe (1 - k))^2] / (n (1 - pe)^2)
#   wr_i = sum_j p.j w_ij, wc_j = sum_i pi. w_ij
# Unweighted kappa and its variance are checked against psych::cohen.kappa
# (psych 2.2.9). psych's weighted-kappa *estimate* is checked too; its
# weighted variance is not used (it pairs row margins with the wrong index).
fce <- function(tab, w) {
  n <- sum(tab); p <- tab / n; r <- rowSums(p); c <- colSums(p)
  po <- sum(w * p); pe <- sum(w * outer(r, c)); k <- (po - pe) / (1 - pe)
  wr <- as.vector(w %*% c); wc <- as.vector(t(w) %*% r)
  v <- (sum(p * (w - outer(wr, wc, "+") * (1 - k))^2) - (k - pe * (1 - k))^2) / (n * (1 - pe)^2)
  c(kappa = k, se = sqrt(max(v, 0)), po = po, pe = pe)
}
set.seed(14)
ktabs <- list(matrix(c(20, 5, 10, 15), 2), matrix(c(25, 0, 0, 25), 2), matrix(c(10, 3, 1, 4, 12, 2, 0, 5, 9), 3),
              matrix(c(1, 0, 0, 0, 1, 0, 0, 0, 1), 3))
for (k in c(2, 3, 4, 5, 5)) for (n in c(30, 200)) {
  truth <- sample(1:k, n, TRUE)
  r1 <- pmin(pmax(truth + sample(-1:1, n, TRUE, prob = c(.15, .7, .15)), 1), k)
  r2 <- pmin(pmax(truth + sample(-1:1, n, TRUE, prob = c(.2, .6, .2)), 1), k)
  ktabs[[length(ktabs) + 1]] <- table(factor(r1, 1:k), factor(r2, 1:k))
}
cases <- character()
for (tab in ktabs) {
  tab <- unclass(as.matrix(tab)); dimnames(tab) <- NULL
  kk <- nrow(tab); d <- abs(outer(1:kk, 1:kk, "-"))
  u <- fce(tab, diag(kk)); l <- fce(tab, 1 - d / (kk - 1)); q <- fce(tab, 1 - d^2 / (kk - 1)^2)
  ps <- suppressWarnings(suppressMessages(cohen.kappa(tab)))
  ps90 <- suppressWarnings(suppressMessages(cohen.kappa(tab, alpha = 0.1)))
  stopifnot(abs(ps$kappa - u["kappa"]) < 1e-12, abs(ps$var.kappa - u["se"]^2) < 1e-12,
            abs(ps$weighted.kappa - q["kappa"]) < 1e-12)
  cases <- c(cases, obj(table = mat(tab), unweighted = arr(u), linear = arr(l), quadratic = arr(q),
                        psych_kappa = num(ps$kappa), psych_var_kappa = num(ps$var.kappa),
                        psych_ci_95 = arr(ps$confid[1, c(1, 3)]), psych_ci_90 = arr(ps90$confid[1, c(1, 3)])))
}
write_cases("kappa.json", cases)

# -------------------------------------------------------- immediate: groups ----
set.seed(15)
gpairs <- list(list(c(1, 2), c(3, 4)), list(c(1, 2, 3), c(2, 3, 4, 9)), list(c(5, 5, 5), c(5, 5, 5)),
               list(c(1), c(2, 3, 4)), list(rnorm(30), rnorm(25, 1)), list(rexp(200), rexp(150, 2)),
               list(round(rnorm(60) * 3), round(rnorm(70) * 3 + 1)))
opt <- function(expr) { r <- capture(expr); if (r$error || !is.finite(r$value)) "null" else num(r$value) }
cases <- vapply(gpairs, function(p) {
  x <- p[[1]]; y <- p[[2]]
  obj(x = arr(x), y = arr(y),
      p_welch = opt(t.test(x, y)$p.value), p_student = opt(t.test(x, y, var.equal = TRUE)$p.value),
      p_mann_whitney = opt(wilcox.test(x, y)$p.value), w = opt(unname(wilcox.test(x, y)$statistic)),
      p_shapiro_x = opt(shapiro.test(x)$p.value), p_shapiro_y = opt(shapiro.test(y)$p.value))
}, "")
write_cases("immediate_groups.json", cases)

# ------------------------------------------------------ immediate: survival ----
set.seed(16)
ssets <- list(list(c(1, 2, 3, 4, 5, 6), c(1, 1, 1, 0, 0, 0), c("a", "a", "a", "b", "b", "b")))
for (n in c(12, 50, 300)) {
  g <- sample(c("ctrl", "treat"), n, TRUE)
  t <- rexp(n, ifelse(g == "treat", 0.06, 0.1)); cns <- rexp(n, 0.04)
  tm <- pmin(t, cns); ev <- as.numeric(t <= cns)
  ssets[[length(ssets) + 1]] <- list(round(tm, 1), ev, g)
}
cases <- vapply(ssets, function(s) {
  tm <- s[[1]]; ev <- s[[2]]; g <- factor(s[[3]])
  d <- survdiff(Surv(tm, ev) ~ g)
  r <- capture(coxph(Surv(tm, ev) ~ g))
  bad <- r$error || any(grepl("infinite|did not converge", r$warnings))
  if (bad) {
    cx <- rep("null", 5)
  } else {
    sm <- summary(r$value)
    cx <- c(num(sm$conf.int[1, "exp(coef)"]), num(sm$conf.int[1, "lower .95"]), num(sm$conf.int[1, "upper .95"]),
            num(sm$waldtest["pvalue"]), num(sm$logtest["pvalue"]))
  }
  obj(time = arr(tm), event = barr(ev == 1), group = sarr(s[[3]]), p_logrank = num(d$pvalue),
      hazard_ratio = cx[1], hr_ci_low = cx[2], hr_ci_high = cx[3], p_wald = cx[4], p_lr = cx[5])
}, "")
write_cases("immediate_survival.json", cases)

cat("fixtures written to", outdir, "\n")
