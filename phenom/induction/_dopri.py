"""The Dormand–Prince integrator of :mod:`phenom.induction.fastflow`, as plain Python.

This file is not imported as a module: :func:`phenom.induction.kernels.flow_module` appends its text to
the kernels generated from the derivation (``loss_grad``, ``hessian``) and to the RK45
coefficients (``A``, ``B``, ``E``, ``P``, ``_STAGES``), writes the whole as one file named by a
hash of its content, and compiles every function with numba, cached on disk beside that file, so
that only the first process on a machine pays for the compilation. Read it as the body of that
module: the names it uses but does not define are those.
"""

# ruff: noqa: F821  (loss_grad, hessian, A, B, E, P, _STAGES, np, numba are the module's)


def rhs(y, N, L, c, lr, g, out):
    loss_grad(y[0], y[1], y[2], N, L, g)
    for k in range(3):
        out[k] = -lr * c[k] * g[k + 1]


def dense(y0, K, h, sigma, out):
    powers = np.empty(4)
    powers[0] = sigma
    for q in range(1, 4):
        powers[q] = powers[q - 1] * sigma
    for k in range(3):
        acc = 0.0
        for s in range(_STAGES + 1):
            w = 0.0
            for q in range(4):
                w += P[s, q] * powers[q]
            acc += K[s, k] * w
        out[k] = y0[k] + h * acc


def speed_change(y, N, L, c, g, H):
    """−∇lossᵀ H (C ⊙ ∇loss): the sign of d|∇loss|/dt; also leaves |∇loss|² in g[0]."""
    loss_grad(y[0], y[1], y[2], N, L, g)
    hessian(y[0], y[1], y[2], N, L, H)
    total = 0.0
    for i in range(3):
        for j in range(3):
            total -= g[i + 1] * H[i, j] * c[j] * g[j + 1]
    g[0] = g[1] * g[1] + g[2] * g[2] + g[3] * g[3]
    return total


def value(kind, index, y, N, L, c, g, H):
    """The quantity whose sign change is sought: 0 speed change, 1 loss, 2 a parameter."""
    if kind == 0:
        return speed_change(y, N, L, c, g, H)
    if kind == 1:
        loss_grad(y[0], y[1], y[2], N, L, g)
        return g[0]
    return y[index]


def root(kind, index, target, y0, K, h, N, L, c, g, H, lo_value):
    """σ in (0, 1] where value − target changes sign within the step (Illinois regula falsi)."""
    y = np.empty(3)
    lo, hi = 0.0, 1.0
    f_lo = lo_value - target
    dense(y0, K, h, 1.0, y)
    f_hi = value(kind, index, y, N, L, c, g, H) - target
    side = 0
    for _ in range(200):
        if hi - lo <= 1e-15:
            break
        sigma = (lo * f_hi - hi * f_lo) / (f_hi - f_lo) if f_hi != f_lo else 0.5 * (lo + hi)
        if not lo < sigma < hi:
            sigma = 0.5 * (lo + hi)
        dense(y0, K, h, sigma, y)
        f = value(kind, index, y, N, L, c, g, H) - target
        if f == 0.0:
            return sigma
        if (f > 0.0) == (f_lo > 0.0):
            lo, f_lo = sigma, f
            if side == -1:
                f_hi *= 0.5
            side = -1
        else:
            hi, f_hi = sigma, f
            if side == 1:
                f_lo *= 0.5
            side = 1
    return 0.5 * (lo + hi)


def peak(y0, K, h, N, L, c, g, H, y_out):
    """Locate the maximum of |∇loss| inside a step, where d|∇loss|/dt changes sign, given
    that it does; return (σ, |∇loss|² there), or (−1, 0) if it does not."""
    s_lo = speed_change(y0, N, L, c, g, H)
    dense(y0, K, h, 1.0, y_out)
    s_hi = speed_change(y_out, N, L, c, g, H)
    if not (s_lo > 0.0 and s_hi <= 0.0):
        return -1.0, 0.0
    sigma = root(0, 0, 0.0, y0, K, h, N, L, c, g, H, s_lo)
    dense(y0, K, h, sigma, y_out)
    speed_change(y_out, N, L, c, g, H)
    return sigma, g[0]


def one(y0_in, N, L, c, lr, t_max, rtol, atol, levels, crossing, max_steps, result, firsts):
    y = y0_in.copy()
    K = np.zeros((_STAGES + 1, 3))
    K_prev = np.zeros((_STAGES + 1, 3))
    y_prev = y0_in.copy()
    h_prev = 0.0
    g = np.zeros(4)
    H = np.zeros((3, 3))
    y_stage = np.empty(3)
    y_new = np.empty(3)
    f = np.empty(3)
    rhs(y, N, L, c, lr, g, f)
    loss_now = g[0]
    speed_start = g[1] * g[1] + g[2] * g[2] + g[3] * g[3]
    speed_now, speed_before = speed_start, -1.0
    best_speed, best_t = -1.0, np.nan  # the largest interior maximum of |∇loss|² so far
    for i in range(levels.size):
        firsts[i] = 0.0 if loss_now <= levels[i] else np.nan
    for k in range(3):
        firsts[levels.size + k] = 0.0 if y[k] >= crossing[k] else np.nan
    # Initial step (Hairer's heuristic, as scipy's select_initial_step).
    d0 = 0.0
    d1 = 0.0
    for k in range(3):
        scale = atol + abs(y[k]) * rtol
        d0 += (y[k] / scale) ** 2
        d1 += (f[k] / scale) ** 2
    d0, d1 = np.sqrt(d0 / 3), np.sqrt(d1 / 3)
    h = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h = min(h, t_max)
    t = 0.0
    steps = 0
    attempts = 0
    while t < t_max and attempts < max_steps:
        attempts += 1
        h = min(h, t_max - t)
        if h <= 1e-14 * max(1.0, t):  # the step size underflowed: give up on this member
            break
        for k in range(3):
            K[0, k] = f[k]
        for s in range(1, _STAGES):
            for k in range(3):
                acc = 0.0
                for q in range(s):
                    acc += A[s, q] * K[q, k]
                y_stage[k] = y[k] + h * acc
            rhs(y_stage, N, L, c, lr, g, K[s])
        for k in range(3):
            acc = 0.0
            for q in range(_STAGES):
                acc += B[q] * K[q, k]
            y_new[k] = y[k] + h * acc
        rhs(y_new, N, L, c, lr, g, K[_STAGES])
        loss_new = g[0]
        speed_new = g[1] * g[1] + g[2] * g[2] + g[3] * g[3]
        err = 0.0
        for k in range(3):
            acc = 0.0
            for q in range(_STAGES + 1):
                acc += E[q] * K[q, k]
            scale = atol + max(abs(y[k]), abs(y_new[k])) * rtol
            err += (h * acc / scale) ** 2
        err = np.sqrt(err / 3)
        if not err <= 1.0:  # too large, or NaN from a non-finite stage: shrink and retry
            h *= max(0.2, 0.9 * err ** -0.2) if err > 1.0 else 0.2
            continue
        # Accepted. |∇loss| rose into t and falls after it: a maximum in the step before or
        # this one (the Hessian is needed only here, to find it).
        if speed_now > speed_before and speed_now >= speed_new:
            sigma, value = peak(y, K, h, N, L, c, g, H, y_stage)
            if sigma >= 0.0:
                if value > best_speed:
                    best_speed, best_t = value, t + sigma * h
            elif steps > 0:
                sigma, value = peak(y_prev, K_prev, h_prev, N, L, c, g, H, y_stage)
                if sigma >= 0.0 and value > best_speed:
                    best_speed, best_t = value, t - h_prev + sigma * h_prev
        for i in range(levels.size):
            if np.isnan(firsts[i]) and loss_new <= levels[i]:
                firsts[i] = t + h * root(1, 0, levels[i], y, K, h, N, L, c, g, H, loss_now)
        for k in range(3):
            if np.isnan(firsts[levels.size + k]) and y_new[k] >= crossing[k]:
                firsts[levels.size + k] = t + h * root(2, k, crossing[k], y, K, h, N, L, c, g, H, y[k])
        for q in range(_STAGES + 1):
            for k in range(3):
                K_prev[q, k] = K[q, k]
        for k in range(3):
            y_prev[k] = y[k]
            y[k] = y_new[k]
            f[k] = K[_STAGES, k]
        h_prev = h
        t += h
        steps += 1
        loss_now = loss_new
        speed_before, speed_now = speed_now, speed_new
        h *= min(10.0, 0.9 * err ** -0.2) if err > 0.0 else 10.0
    if steps > 0:  # a maximum inside the last step shows no downturn at a later step's end
        sigma, value = peak(y_prev, K_prev, h_prev, N, L, c, g, H, y_stage)
        if sigma >= 0.0 and value > best_speed:
            best_speed, best_t = value, t - h_prev + sigma * h_prev
    # The cliff is the largest interior maximum, if it beats both ends (else the path's
    # largest |∇loss| is at t = 0 or t_max: no cliff, as Trajectory.cliff).
    complete = t >= t_max
    result[0] = best_t if complete and best_speed > max(speed_start, speed_now) else np.nan
    result[1] = loss_now
    result[2] = steps
    result[3] = t
    result[7] = 1.0 if complete else 0.0
    for k in range(3):
        result[4 + k] = y[k]


def batch(theta0, N, L, C, lr, t_max, rtol, atol, levels, crossing, max_steps, results, firsts):
    for b in numba.prange(theta0.shape[0]):
        one(theta0[b], N[b], L[b], C[b], lr[b], t_max, rtol, atol, levels, crossing, max_steps, results[b],
            firsts[b])

