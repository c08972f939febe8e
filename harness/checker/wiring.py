"""The course's network and wiring (networks.py), and what a recorded run did otherwise.

A source says where an argument comes from: 'data' (the minibatch), 'labels', or
(module name, method) for the array that call returned.
"""
import numpy as np

PARAMETERS = ('linear_layer', 'conv_layer')  # the modules whose making draws random numbers
# The lines a student writes in dnn_cnn_2.py (FACTS.md): which TODO each pass's calls belong to.
TODOS = {'dnn_cnn_2': (('C2', 'nonlinear2', 'M2'),
                       {('training', 'forward'): 'TODO (2)', ('training', 'backward'): 'TODO (3)',
                        ('training accuracy', 'forward'): 'TODO (4)', ('validation', 'forward'): 'TODO (5)'})}


class Expected:
    """The course's driver `driver` ('dnn_cnn_2') and its Network: the modules made [Built, named], and the calls
    of a training step and of an evaluation pass, each [(name, method, [source per positional
    argument], is_train or None)]."""

    def __init__(self, driver, network, built, training, evaluation):
        self.driver, self.network, self.built = driver, network, built
        self.training, self.evaluation = training, evaluation
        self.names = [b.name for b in built]
        self.first = training[0][0]  # the module that takes the minibatch
        self.sources = {(name, method): sources for name, method, sources, _ in evaluation + training}

    def wiring_for(self, recorder):
        """For recorder.wiring: the arrays the wiring gives a call, from the run's calls so far."""
        def wiring(built, method):
            name_modules(self, recorder.built)
            sources = self.sources.get((built.name, method))
            if sources is None:
                return None
            start = max((i for i, c in enumerate(recorder.calls)
                         if c.built.name == self.first and c.method == 'forward'), default=0)
            latest = {}
            for call in recorder.calls[start:]:
                latest[(call.built.name, call.method)] = call.result
            return [latest.get(s) if isinstance(s, tuple) else None for s in sources]
        return wiring


def expected_wiring(driver, network, recorder):
    """Run the course's `network` of `driver` (made of `recorder`'s classes) for one training
    step and one evaluation pass on two samples; return the Expected."""
    model = network.build_model(network.dropout_rate)
    for name, module in model.items():
        next(b for b in recorder.built if b.module is module).name = name
    x = np.random.RandomState(0).rand(*((2, 1, 28, 28) if network.as_images else (2, 784)))
    y = np.array([[1], [2]])
    scores, cache = network.forward(model, x, True)
    model['loss'].forward(scores, y)
    network.backward(model, x, cache, model['loss'].backward(scores, y))
    steps = len(recorder.calls)
    network.forward(model, x, False)
    wiring = [(c.built.name, c.method, sources(c, recorder.calls, x, y), is_train(c)) for c in recorder.calls]
    return Expected(driver, network, recorder.built, wiring[:steps], wiring[steps:])


def is_train(call):
    if call.built.kind != 'dropout' or call.method != 'forward':
        return None
    return bool(call.kwargs.get('is_train', call.args[1] if len(call.args) > 1 else None))


def sources(call, calls, x, y):
    """The source of each positional argument of `call`, by the calls before it."""
    before = calls[:calls.index(call)]
    found = []
    for arg in call.args:
        if not isinstance(arg, np.ndarray):
            found.append(None)
        elif arg is x:
            found.append('data')
        elif arg is y:
            found.append('labels')
        else:
            producer = next((c for c in reversed(before) if c.result is arg), None)
            if producer is None:  # a copy: the latest result equal to it
                producer = next((c for c in reversed(before) if isinstance(c.result, np.ndarray)
                                 and c.result.shape == arg.shape and np.array_equal(c.result, arg)), None)
            found.append((producer.built.name, producer.method) if producer else 'other')
    return found


def name_modules(expected, built):
    """Name the run's modules: its k-th module of a class gets the name of our k-th of that class."""
    for kind in {b.kind for b in built}:
        names = [b.name for b in expected.built if b.kind == kind]
        for k, b in enumerate(b for b in built if b.kind == kind):
            b.name = names[k] if k < len(names) else f'a {kind} more'


def compare_network(expected, built):
    """[(fails, message)] for the modules the run made, against ours."""
    name_modules(expected, built)
    problems = []
    theirs = {b.name: b for b in built}
    for ours in expected.built:
        b = theirs.get(ours.name)
        if b is None:
            problems.append((True, f'{ours.name} ({ours.signature()}) is never built'))
        elif b.arguments != ours.arguments:
            problems.append((True, f"{ours.name} is {b.signature()}; the course's {ours.name} is {ours.signature()}"))
    problems += [(True, f"builds {b.signature()} beyond the course's network") for b in built
                 if b.name not in expected.names]
    order = [b.name for b in built if b.kind in PARAMETERS and b.name in expected.names]
    course = [b.name for b in expected.built if b.kind in PARAMETERS and b.name in order]
    for theirs_name, course_name in zip(order, course):
        if theirs_name != course_name:
            problems.append((True, f"{course_name} is built after {theirs_name}: the course builds "
                                   f"{', '.join(course)} in this order, and their initial weights are drawn in it"))
            break
    return problems


def describe(source):
    """A source in words: 'C2.forward's output', 'the grad from M2.backward', 'the minibatch'."""
    if source == 'data':
        return 'the minibatch'
    if source == 'labels':
        return 'the labels'
    if isinstance(source, tuple):
        return f"{source[0]}.forward's output" if source[1] == 'forward' else f'the grad from {source[0]}.backward'
    return 'an array no module returned'


def passes(run):
    """The run's calls cut into passes, each starting at the first module's forward: [(kind, calls)].
    A pass trains if it calls a backward or turns dropout on, or if the run stopped in it before
    any pass trained (the course's loop trains before it evaluates)."""
    expected, calls = run['expected'], run['recorder'].calls
    starts = [i for i, c in enumerate(calls) if c.built.name == expected.first and c.method == 'forward']
    cut = []
    for start, end in zip(starts, starts[1:] + [len(calls)]):
        part = calls[start:end]
        stopped_first = end == len(calls) and run['error'] and all(kind != 'training' for kind, _ in cut)
        if stopped_first or any(c.method == 'backward' or is_train(c) for c in part):
            kind = 'training'
        else:
            first = part[0].args[0] if part[0].args else None
            split = run['samples'].get(np.asarray(first[0], dtype=np.float64).reshape(-1).tobytes()) \
                if isinstance(first, np.ndarray) and len(first) else None
            kind = {'train': 'training accuracy', 'valid': 'validation'}.get(split, 'evaluation')
        cut.append((kind, part))
    return cut


def compare_passes(run, kinds):
    """[(fails, message)] for the first pass of each kind, against our wiring."""
    expected, problems = run['expected'], []
    found = passes(run)
    stop = f" (the driver stops: {run['error']})" if run['error'] else ''
    for kind in kinds:
        part = next((calls for k, calls in found if k == kind), None)
        if part is None:
            problems.append((True, f'the {kind} pass never runs{stop}'))
            stop = ''  # said once
            continue
        stopped = part is found[-1][1] and run['error']
        wiring = expected.training if kind == 'training' else expected.evaluation
        standing_in = {}  # (name, method) of ours: the call of another, alike module made in its place
        for name, method, wanted, train in wiring:
            problem = _compare_call(expected, kind, part, name, method, wanted, train, standing_in)
            raised = next((c for c in part if c.raised and c.built.name == name and c.method == method), None)
            if problem:
                problems.append((problem[0], problem[1] + (stop if stopped and problem[0] and not raised else '')))
            if raised:
                here = where(expected.driver, kind, name, method)
                problems.append((True, ('' if here.startswith('the ') else here + ': ') +
                                 f'the {kind} pass stops in {name}.{method}: {raised.raised}'))
            if stopped and (raised or (problem and problem[0])):
                stop = ''
                if (name, method) != wiring[-1][:2]:  # what follows in a pass that stopped is its consequence
                    problems.append((True, f'the rest of the {kind} pass never runs'))
                break
    return problems


def where(driver, kind, name, method):
    todo = TODOS.get(driver)
    if todo and name in todo[0] and (kind, method) in todo[1]:
        return todo[1][(kind, method)]
    return f'the {kind} pass'


def _compare_call(expected, kind, part, name, method, wanted, train, standing_in):
    """(fails, message) for one call of our wiring in one pass of the run, or None if it is as ours."""
    here = where(expected.driver, kind, name, method)
    mine = [c for c in part if c.built.name == name and c.method == method]
    if not mine:
        ours = next(b for b in expected.built if b.name == name)
        for c in part:
            if (c.method == method and c.built.kind == ours.kind and c.built.arguments == ours.arguments
                    and sources(c, part, part[0].args[0], None)[:1] == wanted[:1]):
                standing_in[(name, method)] = (c.built.name, method)
                text = f'{here}: {c.built.name}.{method} is called where {name}.{method} belongs, on {describe(wanted[0])}'
                if kind == 'training':
                    return True, text + f': {name}.backward then reads what {name} kept from another call'
                return False, (text + f": harmless here, as {c.built.name} and {name} are alike ({ours.signature()}) "
                                      f"and no backward call in this pass reads what {c.built.name} keeps")
        return True, f'{here}: {name}.{method} is never called in the {kind} pass'
    call = mine[0]
    got = sources(call, part, part[0].args[0], None)
    for index, want in enumerate(wanted):
        if want in ('data', 'labels', None) or index >= len(got) or got[index] in (want, standing_in.get(want)):
            continue
        belongs = describe(want) + (f" ({name}.forward's input)" if method == 'backward' and index == 0 else '')
        text = f'{here}: {name}.{method} is given {describe(got[index])} where {belongs} belongs'
        if call.same_as_wired:
            return False, text + ': harmless here, as it gives the same result and gradients either way'
        return True, text
    if train is not None and is_train(call) != train:
        return True, (f"{here}: {name}.forward is called with is_train={is_train(call)} in the {kind} pass; "
                      f"dropout is {'on' if train else 'off'} there")
    return None
