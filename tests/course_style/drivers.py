"""The course's other drivers (dnn_mlp.py, dnn_mlp_nononlinear.py, dnn_cnn.py), written the course's way.

Each is made from dnn_cnn_2.py beside this file, the course's template filled in, by putting
another network in place of its own (FACTS.md, "The four networks"): the modules it builds, its
three forward chains, its backward chain, its step, defaults and result prefix. Everything else
(the data loader, the minibatches, the update, the accuracies, the result file) stays the
course's, as the course's own drivers have it.
"""
import os

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'dnn_cnn_2.py')
BUILD_START, BUILD_END = "    model['C1'] = dnn_misc.conv_layer(", "    model['loss'] = dnn_misc.softmax_cross_entropy()\n"
FORWARD_START, FORWARD_END = '            ### forward ###\n', "            a1 = model['L1'].forward(d1)\n"
BACKWARD_START = "            grad_d1 = model['L1'].backward(d1, grad_a1)\n"
BACKWARD_END = "            grad_x = model['C1'].backward(x, grad_c1)\n"
IMAGES = '            x = x.reshape(-1, 1, 28, 28)\n'

MLP_BUILD = """    model['L1'] = dnn_misc.linear_layer(input_D=d, output_D=num_L1)
    model['nonlinear1'] = dnn_misc.relu()
    model['drop1'] = dnn_misc.dropout(r=_dropout_rate)
    model['L2'] = dnn_misc.linear_layer(input_D=num_L1, output_D=num_L2)
    model['loss'] = dnn_misc.softmax_cross_entropy()
"""
MLP_FORWARD = """            a1 = model['L1'].forward(x)
            h1 = model['nonlinear1'].forward(a1)
            d1 = model['drop1'].forward(h1, is_train=IS_TRAIN)
            a2 = model['L2'].forward(d1)
"""
MLP_BACKWARD = """            grad_d1 = model['L2'].backward(d1, grad_a2)
            grad_h1 = model['drop1'].backward(h1, grad_d1)
            grad_a1 = model['nonlinear1'].backward(a1, grad_h1)
            grad_x = model['L1'].backward(x, grad_a1)
"""
LR_BUILD = MLP_BUILD.replace("    model['nonlinear1'] = dnn_misc.relu()\n", '')
LR_FORWARD = """            a1 = model['L1'].forward(x)
            d1 = model['drop1'].forward(a1, is_train=IS_TRAIN)
            a2 = model['L2'].forward(d1)
"""
LR_BACKWARD = """            grad_d1 = model['L2'].backward(d1, grad_a2)
            grad_a1 = model['drop1'].backward(a1, grad_d1)
            grad_x = model['L1'].backward(x, grad_a1)
"""
CNN_BUILD = """    model['C1'] = dnn_misc.conv_layer(num_input=1, num_output=25, filter_len=5, stride=1)
    model['nonlinear1'] = dnn_misc.relu()
    model['M1'] = dnn_misc.max_pool(max_len=2, stride=2)
    model['F1'] = dnn_misc.flatten_layer()
    model['drop1'] = dnn_misc.dropout(r=_dropout_rate)
    model['L1'] = dnn_misc.linear_layer(input_D=num_L1, output_D=num_L2)
    model['loss'] = dnn_misc.softmax_cross_entropy()
"""
CNN_FORWARD = """            c1 = model['C1'].forward(x)
            h1 = model['nonlinear1'].forward(c1)
            m1 = model['M1'].forward(h1)
            f1 = model['F1'].forward(m1)
            d1 = model['drop1'].forward(f1, is_train=IS_TRAIN)
            a1 = model['L1'].forward(d1)
"""
CNN_BACKWARD = """            grad_d1 = model['L1'].backward(d1, grad_a1)
            grad_f1 = model['drop1'].backward(f1, grad_d1)
            grad_m1 = model['F1'].backward(m1, grad_f1)
            grad_h1 = model['M1'].backward(h1, grad_m1)
            grad_c1 = model['nonlinear1'].backward(c1, grad_h1)
            grad_x = model['C1'].backward(x, grad_c1)
"""
NETWORKS = {  # driver: (build, forward, backward, hidden size, step, prefix, learning rate, dropout rate)
    'dnn_mlp': (MLP_BUILD, MLP_FORWARD, MLP_BACKWARD, 1000, 10, 'MLP', '0.01', '0.0'),
    'dnn_mlp_nononlinear': (LR_BUILD, LR_FORWARD, LR_BACKWARD, 1000, 10, 'LR', '0.01', '0.0'),
    'dnn_cnn': (CNN_BUILD, CNN_FORWARD, CNN_BACKWARD, 4900, 10, 'CNN', '0.01', '0.5'),
}


def _replace(text, start, end, new):
    """`text` with the part from `start` to `end` (both included) replaced by `new`."""
    first = text.index(start)
    last = text.index(end, first) + len(end)
    return text[:first] + new + text[last:]


def course_driver(name):
    """The text of the course's driver `name` ('dnn_mlp', 'dnn_mlp_nononlinear', 'dnn_cnn')."""
    build, forward, backward, hidden, step, prefix, learning_rate, dropout_rate = NETWORKS[name]
    text = open(TEMPLATE).read()
    text = _replace(text, BUILD_START, BUILD_END, build)
    for is_train in ('True', 'False', 'False'):  # training, training accuracy, validation
        text = _replace(text, FORWARD_START, FORWARD_END, '            ### the forward chain ###\n'
                        + forward.replace('IS_TRAIN', is_train))
    text = _replace(text, BACKWARD_START, BACKWARD_END, backward)
    text = (text.replace('num_L1 = 1225', f'num_L1 = {hidden}').replace('_step = 30', f'_step = {step}')
            .replace("'CNN2_lr'", f"'{prefix}_lr'").replace("'--learning_rate', default=0.001",
                                                             f"'--learning_rate', default={learning_rate}")
            .replace("'--dropout_rate', default=0.5", f"'--dropout_rate', default={dropout_rate}"))
    if prefix != 'CNN':  # an MLP: vectors, and its scores are a2
        text = text.replace(IMAGES, '')
        for old, new in (("forward(a1, y)", "forward(a2, y)"), ("grad_a1 = model['loss'].backward(a1, y)",
                                                                 "grad_a2 = model['loss'].backward(a2, y)"),
                         ('predict_label(a1)', 'predict_label(a2)')):
            text = text.replace(old, new)
    return text


STUDENTS_PART = [('linear_layer', '__init__'), ('linear_layer', 'forward'), ('linear_layer', 'backward'),
                 ('relu', 'forward'), ('relu', 'backward'), ('dropout', 'backward')]


def module_template(text):
    """The course's template of dnn_misc.py, as `text` (a filled-in one) was before: the body of each
    method a student writes (but its last `return NAME`) emptied into a TODO region."""
    import ast
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    regions = []
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        for method in (node for node in cls.body if isinstance(node, ast.FunctionDef)):
            if (cls.name, method.name) in STUDENTS_PART:
                body = method.body[:-1] if isinstance(method.body[-1], ast.Return) else method.body
                regions.append((body[0].lineno, body[-1].end_lineno, ' ' * body[0].col_offset))
    for first, last, indent in reversed(regions):
        lines[first - 1:last] = [f'{indent}# TODO: write this part\n', f'{indent}pass\n', f'{indent}# END OF YOUR CODE\n']
    return ''.join(lines)
