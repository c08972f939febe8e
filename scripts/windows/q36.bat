@echo off
rem Q3.6: dnn_mlp_nononlinear.py -> outputs\LR_lr0.01_m0.0_w0.0_d0.0.json
cd /d "%~dp0\..\.."
python -m harness.run_driver dnn_mlp_nononlinear.py %*
