"""How bench/modules_ab.py reports training steps timed in alternating blocks."""
import statistics


def print_per_step(question, seconds):
    """Each kind's median milliseconds per step; `seconds` maps a kind to its blocks' seconds per step."""
    for kind, values in seconds.items():
        print(f'{question}, {kind}: median {statistics.median(values) * 1e3:.3f} ms per step')


def ratio_summary(top, bottom):
    """'median R, quartiles A-B' of the ratios of neighbouring blocks' seconds per step, top over bottom."""
    ratios = [a / b for a, b in zip(top, bottom)]
    low, _, high = statistics.quantiles(ratios, n=4)
    return f'median {statistics.median(ratios):.3f}, quartiles {low:.3f}-{high:.3f}'
