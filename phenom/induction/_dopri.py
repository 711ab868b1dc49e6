"""The Dormand–Prince 5(4) integrator of the β, α, ξ flows, as plain Python to be compiled.

This file is not imported as a module: :func:`phenom.induction.kernels.flow_module` appends its text to
the kernels generated from the derivation (``loss_grad``, ``hessian``) and to the RK45
coefficients of :class:`scipy.integrate.RK45` (``A``, ``B``, ``E``, ``P``, ``_STAGES``), writes the
whole as one file named by a hash of its content, and compiles every function with numba, cached on
disk beside that file, so that only the first process on a machine pays for the compilation. Read it
as the body of that module: the names it uses but does not define are those.

Step control is scipy's (``scipy.integrate.RK45``; Hairer, Nørsett and Wanner 1993, Sec. II.4):
the initial step of :func:`select_initial_step`, the RMS error norm, acceptance when it is < 1,
the step multiplied by SAFETY · err^(−1/5) within [MIN_FACTOR, MAX_FACTOR], never grown right
after a rejection, and a failure when the step falls below ten floating-point spacings of t. Two
departures, neither of which moves a well-scaled flow: a step that would end less than those ten
spacings short of t_max is stretched to end on it (scipy would take one more step of a few
spacings), and where |f| / (atol + |y| rtol) overflows the initial step starts from the smallest
one (scipy would divide by zero). Each
member of a batch has its own steps. What a member keeps (all optional, by the sizes of the arrays
it is given): its accepted points and the continuous extension of each step (scipy's
``Q = Kᵀ P``, times the step), its state and loss on a time grid, and the summary quantities of
:func:`phenom.induction.fastflow.flow_quantities`, found by root-finding on that extension.
"""

# ruff: noqa: F821  (loss_grad, hessian, A, B, E, P, _STAGES, np, numba are the module's)

SAFETY = 0.9
"""Fraction of the step the error estimate allows that is taken."""
MIN_FACTOR = 0.2
"""Smallest factor a rejected step is shrunk by."""
MAX_FACTOR = 10.0
"""Largest factor an accepted step is grown by."""
ERROR_EXPONENT = -1.0 / 5.0
"""−1/(q + 1) for the embedded 4th-order error estimate (q = 4)."""

END_TOLERANCE = 4.0
"""A member whose time is within this many float spacings of t_max has finished (its last step
lands on t_max; a member stopped that close to it by the step budget has finished too)."""

RESULT_SIZE = 9
"""Per member: cliff, loss at the end, accepted steps, t at the end, θ at the end (3), complete,
rejected steps."""


def rhs(y, N, L, c, lr, g, out):
    loss_grad(y[0], y[1], y[2], N, L, g)
    for k in range(3):
        out[k] = -lr * c[k] * g[k + 1]


def rms(a, b, c):
    return np.sqrt((a * a + b * b + c * c) / 3.0)


def select_initial_step(y, f, N, L, c, lr, t_span, rtol, atol, g, y1, f1):
    """scipy's ``select_initial_step`` for the 4th-order error estimate: d0 = |y|, d1 = |f| (scaled
    RMS norms), h0 = 0.01 d0/d1 (1e-6 if either is tiny), an explicit Euler probe to h0 for
    d2 = |f(y + h0 f) − f| / h0, then min(100 h0, (0.01 / max(d1, d2))^(1/5), t_span)."""
    s0, s1, s2 = atol + abs(y[0]) * rtol, atol + abs(y[1]) * rtol, atol + abs(y[2]) * rtol
    d0 = rms(y[0] / s0, y[1] / s1, y[2] / s2)
    d1 = rms(f[0] / s0, f[1] / s1, f[2] / s2)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, t_span)
    if not h0 > 0.0:  # |f| / scale overflowed (d1 = inf): no estimate; the step grows from the smallest
        return 0.0
    for k in range(3):
        y1[k] = y[k] + h0 * f[k]
    rhs(y1, N, L, c, lr, g, f1)
    d2 = rms((f1[0] - f[0]) / s0, (f1[1] - f[1]) / s1, (f1[2] - f[2]) / s2) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (-ERROR_EXPONENT)
    return min(100.0 * h0, h1, t_span)


def step_factor(err, rejected):
    """What the step is multiplied by after an attempt with error norm ``err``: grown (at most
    MAX_FACTOR, but not at all if this step was already rejected once) when err < 1, shrunk (at
    least MIN_FACTOR) otherwise; NaN counts as too large."""
    if err < 1.0:
        factor = MAX_FACTOR if err == 0.0 else min(MAX_FACTOR, SAFETY * err**ERROR_EXPONENT)
        return min(1.0, factor) if rejected else factor
    if not err == err:
        return MIN_FACTOR
    return max(MIN_FACTOR, SAFETY * err**ERROR_EXPONENT)


def extension(K, h, Qh):
    """The step's continuous extension, y(t + σh) = y + Σ_q Qh[:, q] σ^(q+1): Qh = h Kᵀ P."""
    for k in range(3):
        for q in range(4):
            acc = 0.0
            for s in range(_STAGES + 1):
                acc += K[s, k] * P[s, q]
            Qh[k, q] = h * acc


def dense(y0, Qh, sigma, out):
    for k in range(3):
        out[k] = y0[k] + sigma * (Qh[k, 0] + sigma * (Qh[k, 1] + sigma * (Qh[k, 2] + sigma * Qh[k, 3])))


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


def root(kind, index, target, y0, Qh, N, L, c, g, H, lo_value):
    """σ in (0, 1] where value − target changes sign within the step (Illinois regula falsi)."""
    y = np.empty(3)
    lo, hi = 0.0, 1.0
    f_lo = lo_value - target
    dense(y0, Qh, 1.0, y)
    f_hi = value(kind, index, y, N, L, c, g, H) - target
    side = 0
    for _ in range(200):
        if hi - lo <= 1e-15:
            break
        sigma = (lo * f_hi - hi * f_lo) / (f_hi - f_lo) if f_hi != f_lo else 0.5 * (lo + hi)
        if not lo < sigma < hi:
            sigma = 0.5 * (lo + hi)
        dense(y0, Qh, sigma, y)
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


def peak(y0, Qh, N, L, c, g, H, y_out):
    """Locate the maximum of |∇loss| inside a step, where d|∇loss|/dt changes sign, given
    that it does; return (σ, |∇loss|² there), or (−1, 0) if it does not."""
    s_lo = speed_change(y0, N, L, c, g, H)
    dense(y0, Qh, 1.0, y_out)
    s_hi = speed_change(y_out, N, L, c, g, H)
    if not (s_lo > 0.0 and s_hi <= 0.0):
        return -1.0, 0.0
    sigma = root(0, 0, 0.0, y0, Qh, N, L, c, g, H, s_lo)
    dense(y0, Qh, sigma, y_out)
    speed_change(y_out, N, L, c, g, H)
    return sigma, g[0]


def keep_point(i, t, y, loss, st, sy, sl):
    if i < st.size:
        st[i] = t
        sl[i] = loss
        for k in range(3):
            sy[i, k] = y[k]


def one(
    y0_in, N, L, c, lr, t_max, rtol, atol, levels, crossing, max_steps, result, firsts, t_eval, values, st, sy, sl, sq
):
    """Integrate one member from θ = ``y0_in`` to ``t_max``.

    Writes ``result`` (:data:`RESULT_SIZE`), ``firsts`` (first time the loss is ≤ each of
    ``levels``, then first time each parameter is ≥ ``crossing[k]``; NaN: not reached), θ and the
    loss at the sorted times ``t_eval`` into ``values`` (len(t_eval), 4) (NaN past a failure), and
    as many accepted points as fit into ``st`` (t), ``sy`` (θ), ``sl`` (loss) and ``sq`` (the
    extension ``Qh`` of the step that starts there); the count in ``result[2]`` says how many
    there were.
    """
    y = y0_in.copy()
    K = np.zeros((_STAGES + 1, 3))
    Qh = np.zeros((3, 4))
    Qh_prev = np.zeros((3, 4))
    y_prev = y0_in.copy()
    g = np.zeros(4)
    H = np.zeros((3, 3))
    y_stage = np.empty(3)
    y_new = np.empty(3)
    f = np.empty(3)
    f_probe = np.empty(3)
    rhs(y, N, L, c, lr, g, f)
    loss_now = g[0]
    speed_start = g[1] * g[1] + g[2] * g[2] + g[3] * g[3]
    speed_now, speed_before = speed_start, -1.0
    best_speed, best_t = -1.0, np.nan  # the largest interior maximum of |∇loss|² so far
    for i in range(levels.size):
        firsts[i] = 0.0 if loss_now <= levels[i] else np.nan
    for k in range(3):
        firsts[levels.size + k] = 0.0 if y[k] >= crossing[k] else np.nan
    n_eval = t_eval.size
    j = 0
    while j < n_eval and t_eval[j] <= 0.0:
        for k in range(3):
            values[j, k] = y[k]
        values[j, 3] = loss_now
        j += 1
    keep_point(0, 0.0, y, loss_now, st, sy, sl)
    h_abs = select_initial_step(y, f, N, L, c, lr, t_max, rtol, atol, g, y_stage, f_probe)
    t = 0.0
    st_prev = 0.0  # where the step before the current one started
    steps = 0
    attempts = 0
    rejections = 0
    failed = False
    while t < t_max:
        min_step = 10.0 * (np.nextafter(t, np.inf) - t)
        h_abs = max(h_abs, min_step)
        rejected = False
        while True:
            if h_abs < min_step or attempts >= max_steps:
                failed = True
                break
            attempts += 1
            t_new = min(t + h_abs, t_max)
            if t_max - t_new < min_step:  # land on t_max, not a few spacings short of it
                t_new = t_max
            h = t_new - t
            h_abs = h
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
            err = 0.0
            for k in range(3):
                acc = 0.0
                for q in range(_STAGES + 1):
                    acc += E[q] * K[q, k]
                scale = atol + max(abs(y[k]), abs(y_new[k])) * rtol
                err += (h * acc / scale) ** 2
            err = np.sqrt(err / 3)
            h_abs *= step_factor(err, rejected)
            if err < 1.0:
                break
            rejected = True
            rejections += 1
        if failed:
            break
        loss_new = g[0]
        speed_new = g[1] * g[1] + g[2] * g[2] + g[3] * g[3]
        extension(K, h, Qh)
        if steps < sq.shape[0]:
            sq[steps] = Qh
        # |∇loss| rose into t and falls after it: a maximum in the step before or this one
        # (the Hessian is needed only here, to find it).
        if speed_now > speed_before and speed_now >= speed_new:
            sigma, top = peak(y, Qh, N, L, c, g, H, y_stage)
            if sigma >= 0.0:
                if top > best_speed:
                    best_speed, best_t = top, t + sigma * h
            elif steps > 0:
                sigma, top = peak(y_prev, Qh_prev, N, L, c, g, H, y_stage)
                if sigma >= 0.0 and top > best_speed:
                    best_speed, best_t = top, st_prev + sigma * (t - st_prev)
        for i in range(levels.size):
            if np.isnan(firsts[i]) and loss_new <= levels[i]:
                firsts[i] = t + h * root(1, 0, levels[i], y, Qh, N, L, c, g, H, loss_now)
        for k in range(3):
            if np.isnan(firsts[levels.size + k]) and y_new[k] >= crossing[k]:
                firsts[levels.size + k] = t + h * root(2, k, crossing[k], y, Qh, N, L, c, g, H, y[k])
        while j < n_eval and t_eval[j] <= t_new:
            dense(y, Qh, (t_eval[j] - t) / h, y_stage)
            loss_grad(y_stage[0], y_stage[1], y_stage[2], N, L, g)
            for k in range(3):
                values[j, k] = y_stage[k]
            values[j, 3] = g[0]
            j += 1
        Qh_prev[:, :] = Qh
        st_prev = t
        for k in range(3):
            y_prev[k] = y[k]
            y[k] = y_new[k]
            f[k] = K[_STAGES, k]
        t = t_new
        steps += 1
        keep_point(steps, t, y, loss_new, st, sy, sl)
        loss_now = loss_new
        speed_before, speed_now = speed_now, speed_new
    for i in range(j, n_eval):  # a member that stopped early has no values past its end
        for k in range(4):
            values[i, k] = np.nan
    if steps > 0:  # a maximum inside the last step shows no downturn at a later step's end
        sigma, top = peak(y_prev, Qh_prev, N, L, c, g, H, y_stage)
        if sigma >= 0.0 and top > best_speed:
            best_speed, best_t = top, st_prev + sigma * (t - st_prev)
    # The cliff is the largest interior maximum, if it beats both ends (else the path's
    # largest |∇loss| is at t = 0 or t_max: no cliff, as Trajectory.cliff).
    complete = t_max - t <= END_TOLERANCE * (t_max - np.nextafter(t_max, 0.0))
    result[0] = best_t if complete and best_speed > max(speed_start, speed_now) else np.nan
    result[1] = loss_now
    result[2] = steps
    result[3] = t
    for k in range(3):
        result[4 + k] = y[k]
    result[7] = 1.0 if complete else 0.0
    result[8] = rejections


def member(
    b,
    theta0,
    N,
    L,
    C,
    lr,
    t_max,
    rtol,
    atol,
    levels,
    crossing,
    max_steps,
    results,
    firsts,
    t_eval,
    values,
    offsets,
    st,
    sy,
    sl,
    sq,
):
    """Member ``b`` of a batch; its accepted points go to rows offsets[b] … offsets[b + 1] − 1."""
    lo, hi = offsets[b], offsets[b + 1]
    one(
        theta0[b],
        N[b],
        L[b],
        C[b],
        lr[b],
        t_max,
        rtol,
        atol,
        levels,
        crossing,
        max_steps,
        results[b],
        firsts[b],
        t_eval,
        values[b],
        st[lo:hi],
        sy[lo:hi],
        sl[lo:hi],
        sq[lo:hi],
    )


def batch_serial(
    theta0,
    N,
    L,
    C,
    lr,
    t_max,
    rtol,
    atol,
    levels,
    crossing,
    max_steps,
    results,
    firsts,
    t_eval,
    values,
    offsets,
    st,
    sy,
    sl,
    sq,
):
    for b in range(theta0.shape[0]):
        member(
            b,
            theta0,
            N,
            L,
            C,
            lr,
            t_max,
            rtol,
            atol,
            levels,
            crossing,
            max_steps,
            results,
            firsts,
            t_eval,
            values,
            offsets,
            st,
            sy,
            sl,
            sq,
        )


def batch(
    theta0,
    N,
    L,
    C,
    lr,
    t_max,
    rtol,
    atol,
    levels,
    crossing,
    max_steps,
    results,
    firsts,
    t_eval,
    values,
    offsets,
    st,
    sy,
    sl,
    sq,
):
    for b in numba.prange(theta0.shape[0]):
        member(
            b,
            theta0,
            N,
            L,
            C,
            lr,
            t_max,
            rtol,
            atol,
            levels,
            crossing,
            max_steps,
            results,
            firsts,
            t_eval,
            values,
            offsets,
            st,
            sy,
            sl,
            sq,
        )


def evaluate(theta, N, L, out):
    """Loss and gradient at each row of ``theta`` (n, 3) for one (N, L): out (n, 4)."""
    for i in range(theta.shape[0]):
        loss_grad(theta[i, 0], theta[i, 1], theta[i, 2], N, L, out[i])
