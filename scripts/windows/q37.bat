@echo off
rem Q3.7: dnn_cnn.py -> outputs\CNN_lr0.01_m0.0_w0.0_d0.5.json
cd /d "%~dp0\..\.."
python -m harness.run_driver dnn_cnn.py %*
