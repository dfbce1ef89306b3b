"""Matching a programme's participants into circles or pairs (SPEC §14).

The model lives here, free of any solver: who the participants are (`intake`),
what may never happen (`constraints`), what makes a circle good (`score`), how a
circle is explained to the manager (`explain`), a random grouping to compare with
(`baseline`), the exhaustive optimum for small cohorts (`exhaustive`) and the
proposal the manager reviews (`proposal`), which asks a `Solver` port for the
grouping. Solvers built on third-party libraries plug in from `adapters.matching`.
"""
