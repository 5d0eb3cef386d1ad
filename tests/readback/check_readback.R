# The output tables read back by R, the plain way: read.csv, then as.Date on the date columns
# (tests/readback/check_readback.py runs it on the files it has just checked with pandas).
# Argument: a tab-separated contract, one line per column: file, column, kind (date, int,
# number, text, category, as given), and for a censored date the name of its *_censored
# column. Fails (status 1) when a date does not parse (as.Date gives NA for a non-empty
# text), a number column is not numeric, a count column not integer, or a censored date is
# not empty exactly where its reason is given.
args <- commandArgs(trailingOnly = TRUE)
contract <- read.delim(args[1], header = FALSE, colClasses = "character",
                       col.names = c("file", "column", "kind", "censored"))
failed <- 0
fail <- function(...) {
  cat("FAIL (R)", ..., "\n")
  failed <<- failed + 1
}
tables <- list()
for (i in seq_len(nrow(contract))) {
  f <- contract$file[i]
  col <- contract$column[i]
  kind <- contract$kind[i]
  if (is.null(tables[[f]]))
    tables[[f]] <- read.csv(f, stringsAsFactors = FALSE)
  df <- tables[[f]]
  if (!(col %in% names(df))) {
    fail(f, "column", col, "missing")
    next
  }
  x <- df[[col]]
  empty <- is.na(x) | (is.character(x) & x == "")
  if (kind == "date") {
    d <- as.Date(as.character(x), format = "%Y-%m-%d")
    if (any(is.na(d) & !empty))
      fail(f, col, "holds text that is not a date:", head(x[is.na(d) & !empty], 3))
    reason <- contract$censored[i]
    if (!is.na(reason) && reason != "") {
      why <- df[[reason]]
      said <- !is.na(why) & why != ""
      if (any(said != is.na(d)))
        fail(f, col, "empty where", reason, "is not given, or the reverse")
    }
  } else if (kind == "int") {
    if (!is.integer(x)) fail(f, col, "read as", class(x), "not integer")
  } else if (kind == "number") {
    if (!is.numeric(x)) fail(f, col, "read as", class(x), "not numeric")
  }
}
cat(sprintf("readback (R %s): %d columns of %d files read by read.csv, %d failed checks\n",
            getRversion(), nrow(contract), length(tables), failed))
quit(status = if (failed > 0) 1 else 0)
