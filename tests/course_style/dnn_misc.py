"""A dnn_misc.py as a student hands it in: the course's template, filled in.

Written here from the course's contract (FACTS.md, "What a student's
dnn_misc.py relies on"), to test that our drivers and checker take such a
file unchanged. It follows the template's conventions, not ours: relu and
dropout keep a mask from forward for backward, conv_layer and max_pool keep
what they computed and call the course's dnn_im2col.py by function name, the
loss keeps its probabilities and one-hot labels from forward, and
linear_layer stores its bias gradient with shape (output_D,), as many
students do.
"""
import numpy as np

import dnn_im2col


class linear_layer:

    def __init__(self, input_D, output_D):
        self.params = dict()
        self.params['W'] = np.random.normal(0, 0.1, (input_D, output_D))
        self.params['b'] = np.random.normal(0, 0.1, (1, output_D))
        self.gradient = dict()
        self.gradient['W'] = np.zeros((input_D, output_D))
        self.gradient['b'] = np.zeros(output_D)

    def forward(self, X):
        forward_output = np.matmul(X, self.params['W']) + self.params['b']
        return forward_output

    def backward(self, X, grad):
        self.gradient['W'] = np.matmul(X.T, grad)
        self.gradient['b'] = np.sum(grad, axis=0)
        backward_output = np.matmul(grad, self.params['W'].T)
        return backward_output


class relu:

    def __init__(self):
        self.mask = None

    def forward(self, X):
        self.mask = (X > 0.0).astype(float)
        forward_output = X * self.mask
        return forward_output

    def backward(self, X, grad):
        backward_output = grad * self.mask
        return backward_output


class dropout:

    def __init__(self, r):
        self.r = r
        self.mask = None

    def forward(self, X, is_train):
        if is_train:
            self.mask = (np.random.uniform(0.0, 1.0, X.shape) >= self.r).astype(float) * (1.0 / (1.0 - self.r))
        else:
            self.mask = np.ones(X.shape)
        forward_output = np.multiply(X, self.mask)
        return forward_output

    def backward(self, X, grad):
        backward_output = np.multiply(grad, self.mask)
        return backward_output


class conv_layer:

    def __init__(self, num_input, num_output, filter_len, stride):
        self.num_input = num_input
        self.num_output = num_output
        self.filter_len = filter_len
        self.stride = stride
        self.padding = int((filter_len - 1) / 2)
        self.params = dict()
        self.params['W'] = np.random.normal(0, 0.1, (num_output, num_input, filter_len, filter_len))
        self.params['b'] = np.random.normal(0, 0.1, (num_output, 1))
        self.gradient = dict()
        self.gradient['W'] = np.zeros((num_output, num_input, filter_len, filter_len))
        self.gradient['b'] = np.zeros((num_output, 1))
        self.X_col = None

    def forward(self, X):
        n_filters, d_filter, h_filter, w_filter = self.params['W'].shape
        n_x, d_x, h_x, w_x = X.shape
        h_out = int((h_x - h_filter + 2 * self.padding) / self.stride + 1)
        w_out = int((w_x - w_filter + 2 * self.padding) / self.stride + 1)
        self.X_col = dnn_im2col.im2col_indices(X, h_filter, w_filter, self.padding, self.stride)
        W_col = self.params['W'].reshape(n_filters, -1)
        out = np.matmul(W_col, self.X_col) + self.params['b']
        out = out.reshape(n_filters, h_out, w_out, n_x)
        forward_output = out.transpose(3, 0, 1, 2)
        return forward_output

    def backward(self, X, grad):
        n_filters, d_filter, h_filter, w_filter = self.params['W'].shape
        self.gradient['b'] = np.sum(grad, axis=(0, 2, 3)).reshape(n_filters, -1)
        grad_reshaped = grad.transpose(1, 2, 3, 0).reshape(n_filters, -1)
        self.gradient['W'] = np.matmul(grad_reshaped, self.X_col.T).reshape(self.params['W'].shape)
        W_col = self.params['W'].reshape(n_filters, -1)
        out = np.matmul(W_col.T, grad_reshaped)
        backward_output = dnn_im2col.col2im_indices(out, X.shape, h_filter, w_filter, self.padding, self.stride)
        return backward_output


class max_pool:

    def __init__(self, max_len, stride):
        self.max_len = max_len
        self.stride = stride
        self.argmax_cols = None

    def forward(self, X):
        n_x, d_x, h_x, w_x = X.shape
        h_out = int((h_x - self.max_len) / self.stride + 1)
        w_out = int((w_x - self.max_len) / self.stride + 1)
        max_cols, self.argmax_cols = dnn_im2col.maxpool_im2col_indices(X, self.max_len, self.max_len, 0,
                                                                        self.stride)
        forward_output = max_cols.reshape(n_x, d_x, h_out, w_out)
        return forward_output

    def backward(self, X, grad):
        backward_output = dnn_im2col.maxpool_col2im_indices(grad, self.argmax_cols, X.shape, self.max_len,
                                                            self.max_len, 0, self.stride)
        return backward_output


class flatten_layer:

    def __init__(self):
        self.size = None

    def forward(self, X):
        self.size = X.shape
        out_forward = X.reshape(X.shape[0], -1)
        return out_forward

    def backward(self, X, grad):
        out_backward = grad.reshape(self.size)
        return out_backward


class softmax_cross_entropy:

    def __init__(self):
        self.expand_Y = None
        self.calib_logit = None
        self.sum_exp_calib_logit = None
        self.prob = None

    def forward(self, X, Y):
        self.expand_Y = np.zeros(X.shape).reshape(-1)
        self.expand_Y[Y.astype(int).reshape(-1) + np.arange(X.shape[0]) * X.shape[1]] = 1.0
        self.expand_Y = self.expand_Y.reshape(X.shape)
        self.calib_logit = X - np.amax(X, axis=1, keepdims=True)
        self.sum_exp_calib_logit = np.sum(np.exp(self.calib_logit), axis=1, keepdims=True)
        self.prob = np.exp(self.calib_logit) / self.sum_exp_calib_logit
        forward_output = -np.sum(np.multiply(self.expand_Y, self.calib_logit - np.log(self.sum_exp_calib_logit))) \
            / X.shape[0]
        return forward_output

    def backward(self, X, Y):
        backward_output = -(self.expand_Y - self.prob) / X.shape[0]
        return backward_output


class sigmoid_cross_entropy:

    def __init__(self):
        self.expand_Y = None
        self.calib_logit = None
        self.sum_exp_calib_logit = None
        self.prob = None

    def forward(self, X, Y):
        self.expand_Y = np.concatenate((Y, 1 - Y), axis=1)
        X_cat = np.concatenate((X, np.zeros((X.shape[0], 1))), axis=1)
        self.calib_logit = X_cat - np.amax(X_cat, axis=1, keepdims=True)
        self.sum_exp_calib_logit = np.sum(np.exp(self.calib_logit), axis=1, keepdims=True)
        self.prob = np.exp(self.calib_logit[:, 0].reshape(X.shape[0], -1)) / self.sum_exp_calib_logit
        forward_output = -np.sum(np.multiply(self.expand_Y, self.calib_logit - np.log(self.sum_exp_calib_logit))) \
            / X.shape[0]
        return forward_output

    def backward(self, X, Y):
        backward_output = -(self.expand_Y[:, 0].reshape(X.shape[0], -1) - self.prob) / X.shape[0]
        return backward_output


def add_momentum(model):
    momentum = dict()
    for module_name, module in model.items():
        if hasattr(module, 'params'):
            for key, _ in module.params.items():
                momentum[module_name + '_' + key] = np.zeros(module.params[key].shape)
    return momentum
