#!/usr/bin/env Rscript
# Reference implementation of the sclerad analysis plan
# (docs/analysis-plan.md) in base R + survival.
#
#   Rscript bench/analysis.R BUNDLE_DIR OUT.json
#
# BUNDLE_DIR holds patients.csv with summary lesion columns (the shape written
# by `sclerad synth --readings summary`); a single .csv file is accepted too.
# Readings files, agreement and per-level prevalence are NOT implemented
# (summary-flag bundles have none).
#
# Every statistic is computed with R's own functions and defaults:
# prop.test(correct = FALSE), chisq.test(correct = FALSE), fisher.test,
# shapiro.test, t.test, wilcox.test, quantile(type = 7), p.adjust,
# survival::survdiff and survival::coxph (ties = "efron").
# Numbers are written with 17 significant digits; NA / NaN / Inf as null.

suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
if (!(length(args) %in% c(2, 3))) {
  cat("usage: Rscript analysis.R BUNDLE_DIR OUT.json [CONF_LEVEL]\n", file = stderr())
  quit(status = 2)
}
bundle <- args[1]
out_path <- args[2]
# The confidence level of every interval (sclerad's conf_level setting).
CONF <- if (length(args) == 3) as.numeric(args[3]) else 0.95

HAND <- c("calcinosis", "acro_osteolysis", "periarticular_calcification",
          "erosion", "joint_space_narrowing", "subluxation",
          "flexion_contracture")
SPINE_COLS <- c("spine_anterior", "spine_canal", "spine_foraminal",
                "spine_posterior")
SPINE <- c("spine_any", SPINE_COLS)
CLINICAL_BINARY <- c("sex_female", "digital_ulcers", "ild_ct",
                     "restrictive_syndrome", "pah", "death")
CONTINUOUS <- c("age_years", "disease_duration_years")
MISSING <- c("", "NA", "na", "N/A", ".")

# ---------------------------------------------------------------- reading --

csv_path <- if (dir.exists(bundle)) file.path(bundle, "patients.csv") else bundle
con <- file(csv_path, encoding = "UTF-8-BOM")
header <- readLines(con, n = 1, warn = FALSE)
close(con)
sep <- if (grepl(";", header, fixed = TRUE) && !grepl(",", header, fixed = TRUE)) ";" else ","

raw <- read.table(csv_path, header = TRUE, sep = sep, quote = "\"",
                  colClasses = "character", na.strings = character(0),
                  check.names = FALSE, comment.char = "", strip.white = TRUE,
                  fileEncoding = "UTF-8-BOM", stringsAsFactors = FALSE)
names(raw) <- tolower(trimws(names(raw)))
n_patients <- nrow(raw)

has <- function(col) col %in% names(raw)
cell <- function(col) {
  if (!has(col)) return(rep(NA_character_, n_patients))
  v <- trimws(raw[[col]])
  v[v %in% MISSING] <- NA_character_
  v
}
as_bool <- function(col) {
  v <- tolower(cell(col))
  out <- rep(NA, length(v))
  out[v %in% c("yes", "y", "true", "1")] <- TRUE
  out[v %in% c("no", "n", "false", "0")] <- FALSE
  bad <- !is.na(v) & is.na(out)
  if (any(bad)) stop(sprintf("%s: not a boolean: %s", col, v[which(bad)[1]]))
  out
}
as_num <- function(col) {
  v <- cell(col)
  if (sep == ";") v <- sub(",", ".", v, fixed = TRUE)
  as.numeric(v)
}
as_date <- function(col) as.Date(cell(col), format = "%Y-%m-%d")

# ---------------------------------------------------------------- derived --

sex <- tolower(cell("sex"))
sex_female <- ifelse(sex %in% c("female", "f"), TRUE,
                     ifelse(sex %in% c("male", "m"), FALSE, NA))
subset_v <- tolower(cell("subset"))
subset_dcssc <- ifelse(subset_v == "dcssc", TRUE,
                       ifelse(subset_v == "lcssc", FALSE, NA))

hand_date <- as_date("hand_xray_date")
ct_date <- as_date("ct_date")
ref_date <- hand_date
ref_date[is.na(ref_date)] <- ct_date[is.na(ref_date)]

# whole (completed) years between two dates
whole_years <- function(from, to) {
  lf <- as.POSIXlt(from); lt <- as.POSIXlt(to)
  y <- lt$year - lf$year
  before <- (lt$mon < lf$mon) | (lt$mon == lf$mon & lt$mday < lf$mday)
  as.numeric(y - ifelse(before, 1L, 0L))
}

age_years <- as_num("age_years")
birth <- as_date("birth_date")
fill <- is.na(age_years)
age_years[fill] <- whole_years(birth[fill], ref_date[fill])

disease_duration_years <- as_num("disease_duration_years")
onset <- as_date("onset_date")
fill <- is.na(disease_duration_years)
disease_duration_years[fill] <-
  as.numeric(ref_date[fill] - onset[fill], units = "days") / 365.25

restrictive_syndrome <- as_bool("restrictive_syndrome")
tlc <- as_num("tlc_pct_pred")
fill <- is.na(restrictive_syndrome)
restrictive_syndrome[fill] <- tlc[fill] < 80

V <- list(
  subset_dcssc = subset_dcssc,
  sex_female = sex_female,
  age_years = age_years,
  disease_duration_years = disease_duration_years,
  digital_ulcers = as_bool("digital_ulcers"),
  ild_ct = as_bool("ild_ct"),
  restrictive_syndrome = restrictive_syndrome,
  pah = as_bool("pah"),
  death = as_bool("death")
)
for (h in HAND) V[[h]] <- as_bool(h)
for (s in SPINE_COLS) V[[s]] <- as_bool(s)
# three-valued OR: TRUE if any TRUE, FALSE if all FALSE, else NA
V$spine_any <- V$spine_anterior | V$spine_canal | V$spine_posterior

# ---------------------------------------------------------------- helpers --

num_or_null <- function(x) {
  if (is.null(x) || length(x) == 0 || is.na(x) || !is.finite(x)) NA_real_ else as.numeric(x)
}
q7 <- function(x) quantile(x, c(0.25, 0.5, 0.75), type = 7, names = FALSE)

describe <- function(x) {
  n <- length(x)
  if (n == 0) return(list(n = 0L, mean = NA_real_, sd = NA_real_,
                          median = NA_real_, q1 = NA_real_, q3 = NA_real_))
  q <- q7(x)
  list(n = n, mean = mean(x), sd = if (n >= 2) sd(x) else NA_real_,
       median = q[2], q1 = q[1], q3 = q[3])
}

population <- function(keep) {
  age <- V$age_years[keep]; age <- age[!is.na(age)]
  dur <- V$disease_duration_years[keep]; dur <- dur[!is.na(dur)]
  n <- sum(keep)
  fem <- sum(V$sex_female[keep] %in% TRUE)
  qd <- if (length(dur)) q7(dur) else rep(NA_real_, 3)
  list(
    n = n,
    age_n = length(age),
    age_mean = if (length(age)) mean(age) else NA_real_,
    age_sd = if (length(age) >= 2) sd(age) else NA_real_,
    female_n = fem,
    female_percent = if (n > 0) 100 * fem / n else NA_real_,
    lcssc_n = sum(V$subset_dcssc[keep] %in% FALSE),
    dcssc_n = sum(V$subset_dcssc[keep] %in% TRUE),
    duration_n = length(dur),
    duration_mean = if (length(dur)) mean(dur) else NA_real_,
    duration_sd = if (length(dur) >= 2) sd(dur) else NA_real_,
    duration_median = qd[2],
    duration_q1 = qd[1],
    duration_q3 = qd[3]
  )
}

prevalence <- function(var) {
  v <- V[[var]]
  den <- sum(!is.na(v)); k <- sum(v %in% TRUE)
  ci <- c(NA_real_, NA_real_)
  if (den > 0) ci <- suppressWarnings(prop.test(k, den, correct = FALSE, conf.level = CONF)$conf.int) * 100
  list(variable = var, n = k, denominator = den,
       percent = if (den > 0) 100 * k / den else NA_real_,
       ci_low = ci[1], ci_high = ci[2])
}

binary_cmp <- function(family, exposure, outcome) {
  e <- V[[exposure]]; o <- V[[outcome]]
  ok <- !is.na(e) & !is.na(o)
  e <- e[ok]; o <- o[ok]
  a <- sum(e & o); b <- sum(e & !o); c <- sum(!e & o); d <- sum(!e & !o)
  r <- list(id = paste(family, exposure, outcome, sep = ":"), family = family,
            exposure = exposure, outcome = outcome, outcome_type = "binary",
            n = a + b + c + d, test = "not_computable", p_value = NA_real_,
            a = a, b = b, c = c, d = d, min_expected = NA_real_,
            p_chi_square = NA_real_, p_fisher = NA_real_,
            odds_ratio = NA_real_, or_ci_low = NA_real_, or_ci_high = NA_real_,
            odds_ratio_infinite = FALSE, p_holm = NA_real_, p_bh = NA_real_)
  if (a + b == 0 || c + d == 0 || a + c == 0 || b + d == 0) return(r)
  m <- matrix(c(a, c, b, d), nrow = 2)  # rows exposed yes/no, cols outcome yes/no
  ch <- suppressWarnings(chisq.test(m, correct = FALSE))
  r$min_expected <- min(ch$expected)
  r$p_chi_square <- num_or_null(ch$p.value)
  ft <- fisher.test(m, conf.level = CONF)
  r$p_fisher <- num_or_null(ft$p.value)
  r$odds_ratio <- num_or_null(ft$estimate)
  r$odds_ratio_infinite <- isTRUE(ft$estimate == Inf)
  r$or_ci_low <- num_or_null(ft$conf.int[1])
  r$or_ci_high <- num_or_null(ft$conf.int[2])
  if (r$min_expected >= 5) {
    r$test <- "chi_square"; r$p_value <- r$p_chi_square
  } else {
    r$test <- "fisher_exact"; r$p_value <- r$p_fisher
  }
  if (is.na(r$p_value)) r$test <- "not_computable"
  r
}

shapiro_p <- function(x) {
  if (length(x) < 3 || length(x) > 5000 || all(x == x[1])) return(NA_real_)
  tryCatch(shapiro.test(x)$p.value, error = function(e) NA_real_)
}

continuous_cmp <- function(family, exposure, outcome) {
  e <- V[[exposure]]; o <- V[[outcome]]
  ok <- !is.na(e) & !is.na(o)
  x <- o[ok & e]; y <- o[ok & !e]
  gx <- describe(x); gy <- describe(y)
  r <- list(id = paste(family, exposure, outcome, sep = ":"), family = family,
            exposure = exposure, outcome = outcome, outcome_type = "continuous",
            n = length(x) + length(y), test = "not_computable", p_value = NA_real_,
            n_exposed = gx$n, mean_exposed = gx$mean, sd_exposed = gx$sd,
            median_exposed = gx$median, q1_exposed = gx$q1, q3_exposed = gx$q3,
            n_unexposed = gy$n, mean_unexposed = gy$mean, sd_unexposed = gy$sd,
            median_unexposed = gy$median, q1_unexposed = gy$q1, q3_unexposed = gy$q3,
            p_shapiro_exposed = shapiro_p(x), p_shapiro_unexposed = shapiro_p(y),
            p_welch = NA_real_, p_mann_whitney = NA_real_, w = NA_real_,
            p_holm = NA_real_, p_bh = NA_real_)
  if (length(x) < 2 || length(y) < 2) return(r)
  r$p_welch <- tryCatch(num_or_null(t.test(x, y)$p.value), error = function(e) NA_real_)
  wt <- suppressWarnings(wilcox.test(x, y))
  r$p_mann_whitney <- num_or_null(wt$p.value)
  r$w <- num_or_null(wt$statistic)
  normal <- !is.na(r$p_shapiro_exposed) && !is.na(r$p_shapiro_unexposed) &&
    r$p_shapiro_exposed >= 0.05 && r$p_shapiro_unexposed >= 0.05
  if (normal) {
    r$test <- "welch_t"; r$p_value <- r$p_welch
  } else {
    r$test <- "mann_whitney"; r$p_value <- r$p_mann_whitney
  }
  if (is.na(r$p_value)) r$test <- "not_computable"
  r
}

FAMILIES <- list(
  list("subset", "subset_dcssc",
       c("age_years", "sex_female", "disease_duration_years", "digital_ulcers",
         "ild_ct", "restrictive_syndrome", "pah", "death")),
  list("hand_duration", HAND, "disease_duration_years"),
  list("hand_ulcers", HAND, "digital_ulcers"),
  list("axial_peripheral", SPINE, HAND),
  list("prognosis", c(HAND, SPINE), c("ild_ct", "pah", "death"))
)

comparisons <- list()
for (f in FAMILIES) {
  fam <- list()
  for (ex in f[[2]]) for (oc in f[[3]]) {
    fam[[length(fam) + 1]] <- if (oc %in% CONTINUOUS) continuous_cmp(f[[1]], ex, oc)
                              else binary_cmp(f[[1]], ex, oc)
  }
  p <- vapply(fam, function(r) r$p_value, numeric(1))
  idx <- which(!is.na(p))
  if (length(idx)) {
    holm <- p.adjust(p[idx], "holm"); bh <- p.adjust(p[idx], "BH")
    for (k in seq_along(idx)) {
      fam[[idx[k]]]$p_holm <- holm[k]; fam[[idx[k]]]$p_bh <- bh[k]
    }
  }
  comparisons <- c(comparisons, fam)
}

# ---------------------------------------------------------------- Table 1 --
# Each clinical variable by subset (dcSSc against lcSSc) and overall, its
# test by the plan's rules: chi-square (no correction) when every expected
# count of the subset x value table is >= 5, else fisher.test (R x C for a
# categorical variable with more than two levels found); Welch when both
# subsets' Shapiro-Wilk p >= 0.05, else wilcox.test. Written flat
# (lcssc_n, lcssc_count, ...): the comparison reads scalar fields.
T1 <- list(
  age_years = V$age_years, sex_female = V$sex_female,
  disease_duration_years = V$disease_duration_years, mrss = as_num("mrss"),
  digital_ulcers = V$digital_ulcers, ild_ct = V$ild_ct,
  restrictive_syndrome = V$restrictive_syndrome, fvc_pct_pred = as_num("fvc_pct_pred"),
  tlc_pct_pred = as_num("tlc_pct_pred"), dlco_pct_pred = as_num("dlco_pct_pred"),
  pah = V$pah, mpap_mmhg = as_num("mpap_mmhg"), pawp_mmhg = as_num("pawp_mmhg"),
  pvr_wu = as_num("pvr_wu"), anti_centromere = as_bool("anti_centromere"),
  anti_scl70 = as_bool("anti_scl70"), anti_rnap3 = as_bool("anti_rnap3"),
  death = V$death, ct_type = tolower(cell("ct_type")))
CT_LEVELS <- c("thoracic", "tap", "lumbar")
table_test <- function(m) {
  m <- m[, colSums(m) > 0, drop = FALSE]
  if (ncol(m) < 2 || any(rowSums(m) == 0)) return(list(test = "not_computable", p = NA_real_, e = NA_real_))
  ch <- suppressWarnings(chisq.test(m, correct = FALSE))
  e <- min(ch$expected)
  if (e >= 5) list(test = "chi_square", p = ch$p.value, e = e)
  else list(test = "fisher_exact", p = fisher.test(m)$p.value, e = e)
}
table1 <- list()
groups <- list(lcssc = V$subset_dcssc %in% FALSE, dcssc = V$subset_dcssc %in% TRUE,
               overall = rep(TRUE, n_patients))
for (v in names(T1)) {
  x <- T1[[v]]
  if (all(is.na(x))) next
  r <- list(variable = v)
  if (v == "ct_type") {
    found <- CT_LEVELS[CT_LEVELS %in% x]
    r$kind <- "categorical"
    for (g in names(groups)) {
      xg <- x[groups[[g]]]
      r[[paste0(g, "_n")]] <- sum(!is.na(xg)); r[[paste0(g, "_n_missing")]] <- sum(is.na(xg))
      for (k in found) r[[paste0(g, "_count_", k)]] <- sum(xg %in% k)
    }
    m <- rbind(vapply(found, function(k) sum(x[groups$dcssc] %in% k), numeric(1)),
               vapply(found, function(k) sum(x[groups$lcssc] %in% k), numeric(1)))
    tt <- table_test(m)
  } else if (is.logical(x)) {
    r$kind <- "binary"
    for (g in names(groups)) {
      xg <- x[groups[[g]]]; n <- sum(!is.na(xg)); k <- sum(xg %in% TRUE)
      r[[paste0(g, "_n")]] <- n; r[[paste0(g, "_n_missing")]] <- sum(is.na(xg))
      r[[paste0(g, "_count")]] <- k
      r[[paste0(g, "_percent")]] <- if (n > 0) 100 * k / n else NA_real_
    }
    d <- x[groups$dcssc]; l <- x[groups$lcssc]
    m <- rbind(c(sum(d %in% TRUE), sum(d %in% FALSE)), c(sum(l %in% TRUE), sum(l %in% FALSE)))
    tt <- table_test(m)
  } else {
    r$kind <- "continuous"
    for (g in names(groups)) {
      xg <- x[groups[[g]]]; de <- describe(xg[!is.na(xg)])
      r[[paste0(g, "_n")]] <- de$n; r[[paste0(g, "_n_missing")]] <- sum(is.na(xg))
      for (f in c("mean", "sd", "median", "q1", "q3")) r[[paste0(g, "_", f)]] <- de[[f]]
    }
    d <- x[groups$dcssc]; d <- d[!is.na(d)]; l <- x[groups$lcssc]; l <- l[!is.na(l)]
    tt <- list(test = "not_computable", p = NA_real_, e = NA_real_)
    if (length(d) >= 2 && length(l) >= 2) {
      pd <- shapiro_p(d); pl <- shapiro_p(l)
      if (!is.na(pd) && !is.na(pl) && pd >= 0.05 && pl >= 0.05) {
        tt <- list(test = "welch_t", p = t.test(d, l)$p.value, e = NA_real_)
      } else {
        tt <- list(test = "mann_whitney", p = suppressWarnings(wilcox.test(d, l))$p.value, e = NA_real_)
      }
    }
  }
  r$test <- tt$test; r$p_value <- tt$p; r$min_expected <- tt$e
  table1[[length(table1) + 1]] <- r
}

# -------------------------------------------------------- adjusted models --
# For each prognosis outcome and exposure: glm(outcome ~ exposure + age +
# sex + subset + duration, binomial) over the complete cases, Wald terms
# (summary.glm, confint.default at CONF) and the exposure's likelihood-ratio
# test against the model without it; when maximum likelihood does not exist
# (separation: the fit, iterated on past glm's default stopping point, has
# fitted probabilities numerically 0 or 1, a linear predictor beyond 30, or
# does not converge), Firth's penalised likelihood as logistf's defaults,
# from crates/sclerad-stats/r/firth.R (logistf is not packaged in Debian).
script_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
script_dir <- dirname(normalizePath(sub("^--file=", "", script_arg[1])))
source(file.path(script_dir, "..", "crates", "sclerad-stats", "r", "firth.R"))
ADJUST <- c("age_years", "sex_female", "subset_dcssc", "disease_duration_years")
separated <- function(y, X) {
  warned <- FALSE
  fit <- withCallingHandlers(
    glm(y ~ X, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 200)),
    warning = function(w) { warned <<- TRUE; invokeRestart("muffleWarning") })
  warned || !fit$converged || max(abs(fit$linear.predictors)) > 30
}
adjusted <- list()
for (ex in c(HAND, SPINE)) for (oc in c("ild_ct", "pah", "death")) {
  covs <- setdiff(ADJUST, c(oc, ex))
  terms <- c(ex, covs)
  M <- sapply(terms, function(t) as.numeric(V[[t]]))
  y <- as.numeric(V[[oc]])
  ok <- !is.na(y) & rowSums(is.na(M)) == 0
  y <- y[ok]; X <- M[ok, , drop = FALSE]
  r <- list(id = paste("adjusted", ex, oc, sep = ":"), exposure = ex, outcome = oc,
            n = length(y), events = sum(y), method = "not_computable",
            odds_ratio = NA_real_, or_ci_low = NA_real_, or_ci_high = NA_real_,
            p_value = NA_real_, p_holm = NA_real_, p_bh = NA_real_)
  if (sum(y) == 0 || sum(y) == length(y) || any(apply(X, 2, function(c) all(c == c[1])))) {
    adjusted[[length(adjusted) + 1]] <- r
    next
  }
  z <- qnorm(0.5 + CONF / 2)
  if (!separated(y, X)) {
    fit <- glm(y ~ X, family = binomial)
    cf <- summary(fit)$coefficients
    reduced <- glm(y ~ X[, -1, drop = FALSE], family = binomial)
    p_lr <- pchisq(max(reduced$deviance - fit$deviance, 0), 1, lower.tail = FALSE)
    r$method <- "logistic"
    for (k in seq_along(terms)) {
      b <- cf[k + 1, 1]; se <- cf[k + 1, 2]
      r[[paste0("term_", terms[k], "_estimate")]] <- b
      r[[paste0("term_", terms[k], "_se")]] <- se
      r[[paste0("term_", terms[k], "_ci_low")]] <- exp(b - z * se)
      r[[paste0("term_", terms[k], "_ci_high")]] <- exp(b + z * se)
      r[[paste0("term_", terms[k], "_p_wald")]] <- cf[k + 1, 4]
    }
    r$odds_ratio <- exp(cf[2, 1]); r$or_ci_low <- exp(cf[2, 1] - z * cf[2, 2])
    r$or_ci_high <- exp(cf[2, 1] + z * cf[2, 2]); r$p_value <- p_lr
  } else {
    f <- firth(X, y, CONF)
    r$method <- "firth"
    for (k in seq_along(terms)) {
      r[[paste0("term_", terms[k], "_estimate")]] <- f$beta[k + 1]
      r[[paste0("term_", terms[k], "_se")]] <- f$se[k + 1]
      r[[paste0("term_", terms[k], "_ci_low")]] <- exp(f$ci_low[k + 1])
      r[[paste0("term_", terms[k], "_ci_high")]] <- exp(f$ci_high[k + 1])
      r[[paste0("term_", terms[k], "_p_lr")]] <- f$p[k + 1]
    }
    r$odds_ratio <- exp(f$beta[2]); r$or_ci_low <- exp(f$ci_low[2])
    r$or_ci_high <- exp(f$ci_high[2]); r$p_value <- f$p[2]
  }
  adjusted[[length(adjusted) + 1]] <- r
}
p <- vapply(adjusted, function(r) r$p_value, numeric(1))
idx <- which(!is.na(p))
if (length(idx)) {
  holm <- p.adjust(p[idx], "holm"); bh <- p.adjust(p[idx], "BH")
  for (k in seq_along(idx)) { adjusted[[idx[k]]]$p_holm <- holm[k]; adjusted[[idx[k]]]$p_bh <- bh[k] }
}

# --------------------------------------------------------------- survival --

warnings_out <- character(0)
death_date <- as_date("death_date")
fu_date <- as_date("last_followup_date")
end_date <- as.Date(ifelse(V$death %in% TRUE, death_date,
                           ifelse(V$death %in% FALSE, fu_date, NA)),
                    origin = "1970-01-01")
days <- as.numeric(end_date - hand_date, units = "days")
timed <- !is.na(days) & !is.na(V$death) & days >= 0
n_left_out <- n_patients - sum(timed)
if (n_left_out > 0)
  warnings_out <- c(warnings_out, sprintf(
    "survival: %d patient(s) lacking hand_xray_date, death, death_date (deaths) or last_followup_date (survivors), or with an end date before hand_xray_date, were left out",
    n_left_out))
s_time <- days / 365.25
s_event <- as.integer(V$death)

survival_res <- list()
for (ex in c(HAND, SPINE)) {
  g <- V[[ex]]
  keep <- timed & !is.na(g)
  t <- s_time[keep]; ev <- s_event[keep]; gg <- as.integer(g[keep])
  r <- list(id = paste("survival", ex, "death", sep = ":"), exposure = ex,
            n = length(t), events = sum(ev), test = "not_computable",
            p_logrank = NA_real_, hazard_ratio = NA_real_,
            hr_ci_low = NA_real_, hr_ci_high = NA_real_,
            p_wald = NA_real_, p_lr = NA_real_)
  n1 <- sum(gg)
  if (n1 > 0 && n1 < length(gg) && sum(ev) > 0) {
    sd_ <- survdiff(Surv(t, ev) ~ gg)
    r$p_logrank <- num_or_null(pchisq(sd_$chisq, 1, lower.tail = FALSE))
    r$test <- "log_rank_cox"
    ev1 <- sum(ev[gg == 1])
    if (ev1 > 0 && ev1 < sum(ev)) {
      fit <- coxph(Surv(t, ev) ~ gg, ties = "efron")
      s <- summary(fit, conf.int = CONF)
      # Columns: exp(coef), exp(-coef), lower, upper (named after the level).
      r$hazard_ratio <- num_or_null(s$conf.int[1, "exp(coef)"])
      r$hr_ci_low <- num_or_null(s$conf.int[1, 3])
      r$hr_ci_high <- num_or_null(s$conf.int[1, 4])
      r$p_wald <- num_or_null(s$coefficients[1, "Pr(>|z|)"])
      r$p_lr <- num_or_null(s$logtest[["pvalue"]])
    }
  }
  survival_res[[length(survival_res) + 1]] <- r
}

# ------------------------------------------------------------------ JSON --

json_str <- function(s) {
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  s <- gsub("\n", "\\n", s, fixed = TRUE)
  paste0("\"", s, "\"")
}
to_json <- function(x, indent = "") {
  ind2 <- paste0(indent, "  ")
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    items <- vapply(x, to_json, character(1), indent = ind2)
    if (is.null(names(x))) {
      return(paste0("[\n", ind2, paste(items, collapse = paste0(",\n", ind2)),
                    "\n", indent, "]"))
    }
    return(paste0("{\n", ind2,
                  paste(paste0(json_str(names(x)), ": ", items),
                        collapse = paste0(",\n", ind2)),
                  "\n", indent, "}"))
  }
  if (length(x) != 1) stop("vectors must be wrapped in lists")
  if (is.na(x)) return("null")
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.character(x)) return(json_str(x))
  if (is.integer(x)) return(sprintf("%d", x))
  if (!is.finite(x)) return("null")
  if (x == round(x) && abs(x) < 1e15) return(sprintf("%.0f", x))
  sprintf("%.17g", x)
}

result <- list(
  format = "sclerad-results/1",
  software = list(name = "sclerad-bench-R",
                  version = paste(R.version.string, "survival",
                                  as.character(packageVersion("survival")))),
  input = list(path = bundle, patients = n_patients),
  population = population(rep(TRUE, n_patients)),
  population_by_subset = list(
    lcssc = population(V$subset_dcssc %in% FALSE),
    dcssc = population(V$subset_dcssc %in% TRUE)),
  table1 = table1,
  prevalence = lapply(c(HAND, SPINE, CLINICAL_BINARY), prevalence),
  comparisons = comparisons,
  adjusted = adjusted,
  survival = survival_res,
  agreement = list(),
  warnings = as.list(warnings_out)
)
writeLines(to_json(result), out_path)
