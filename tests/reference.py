"""Brute-force reference of the paper's layout rules, one slot at a time (deliberately naive)."""

IGNORE = -100


def reference_layout(prompt, answer, *, d, register_for_d, prefix_attention):
    """Slots of one unpadded example. ``d=None`` gives next-token training (no registers).

    Returns input ids, position ids, labels, is_register and the [L][L] 0/1 visibility matrix.
    """
    x = list(prompt) + list(answer)
    P, A = len(prompt), len(answer)
    slots = []  # dicts: kind ('q', 'a', 'r'), token, pos, label, free (regular) / sees_upto (register)
    for t in range(P):
        slots.append(dict(kind="q", token=x[t], pos=t, label=x[P] if t == P - 1 else IGNORE, free=t))
    for j in range(A):
        t = P + j - 1  # the regular token the register follows
        if d is not None and t + d <= P + A - 1:  # keep registers whose target is in the answer
            slots.append(dict(kind="r", token=register_for_d(d), pos=t + d - 1, label=x[t + d],
                              sees_upto=t))
        label = x[P + j + 1] if j < A - 1 else IGNORE
        slots.append(dict(kind="a", token=x[P + j], pos=P + j, label=label, free=P + j))

    n = len(slots)
    vis = [[0] * n for _ in range(n)]
    for qi, q in enumerate(slots):
        for ki, k in enumerate(slots):
            if qi == ki:
                vis[qi][ki] = 1  # every token sees itself
            elif k["kind"] == "r":
                vis[qi][ki] = 0  # rule 1 and 2: nobody else sees a register
            elif q["kind"] == "r":
                vis[qi][ki] = int(k["free"] <= q["sees_upto"])  # rule 3: preceding regular tokens
            elif q["kind"] == "q" and prefix_attention == "bidirectional":
                vis[qi][ki] = int(k["kind"] == "q")  # prompt sees the whole prompt, never the answer
            else:
                vis[qi][ki] = int(k["free"] <= q["free"])  # causal
    return (
        [s["token"] for s in slots],
        [s["pos"] for s in slots],
        [s["label"] for s in slots],
        [s["kind"] == "r" for s in slots],
        vis,
    )
