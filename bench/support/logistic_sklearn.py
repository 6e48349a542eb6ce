"""scikit-learn's side of bench/logistic.ts (not a test).

Reads a CSV of numeric columns with the csv module, standardises every column but the target with
StandardScaler (the training mean and population standard deviation, as lib/learn/logistic.ts does;
a constant column is dropped, as ours drops it), and fits LogisticRegression(C, solver
'newton-cholesky', tol) on it. Prints one JSON line with the fit (intercept and coefficients on the
standardised scale, by column name), then answers each line "fit" on stdin with one more fit's time
in milliseconds, so that the benchmark can take its turns with ours in the same run.

    python3 logistic_sklearn.py FILE TARGET C TOL
"""
import csv
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def main():
    path, target, C, tol = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        table = np.array([[float(cell) for cell in row] for row in rows if row])
    t = header.index(target)
    y = table[:, t]
    keep = [j for j in range(len(header)) if j != t and table[:, j].std() > 1e-12 * max(1.0, abs(table[:, j].mean()))]
    X = StandardScaler().fit_transform(table[:, keep])

    def fit():
        model = LogisticRegression(C=C, solver="newton-cholesky", tol=tol, max_iter=100)
        started = time.perf_counter()
        model.fit(X, y)
        return model, (time.perf_counter() - started) * 1000

    model, _ = fit()
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{p['internal_api']} {p.get('version') or ''} ({p['num_threads']} threads)".replace("  ", " ") for p in threadpool_info())
    except ImportError:
        blas = "unknown"
    print(json.dumps({
        "version": sklearn.__version__,
        "blas": blas,
        "iterations": int(model.n_iter_[0]),
        "intercept": float(model.intercept_[0]),
        "coefficients": {header[j]: float(w) for j, w in zip(keep, model.coef_[0])},
    }), flush=True)
    for line in sys.stdin:
        if line.strip() == "fit":
            print(f"{fit()[1]:.3f}", flush=True)


if __name__ == "__main__":
    main()
