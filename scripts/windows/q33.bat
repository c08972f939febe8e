@echo off
rem Q3.3: dnn_mlp.py -> outputs\MLP_lr0.01_m0.0_w0.0_d0.0.json
cd /d "%~dp0\..\.."
python -m harness.run_driver dnn_mlp.py %*
