@echo off
rem Q3.5: dnn_mlp.py --dropout_rate 0.95 -> outputs\MLP_lr0.01_m0.0_w0.0_d0.95.json
cd /d "%~dp0\..\.."
python -m harness.run_driver dnn_mlp.py --dropout_rate 0.95 %*
