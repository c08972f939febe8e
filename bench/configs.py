"""The seven question configurations: (question, driver module, flags that differ from its defaults)."""
CONFIGS = [
    ('q33', 'dnn_mlp', {}),
    ('q34', 'dnn_mlp', {'dropout_rate': 0.5}),
    ('q35', 'dnn_mlp', {'dropout_rate': 0.95}),
    ('q36', 'dnn_mlp_nononlinear', {}),
    ('q37', 'dnn_cnn', {}),
    ('q38', 'dnn_cnn', {'alpha': 0.9}),
    ('q310', 'dnn_cnn_2', {'alpha': 0.9}),
]
