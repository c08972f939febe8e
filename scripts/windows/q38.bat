@echo off
rem Q3.8: dnn_cnn.py --alpha 0.9 -> outputs\CNN_lr0.01_m0.9_w0.0_d0.5.json
cd /d "%~dp0\..\.."
python -m harness.run_driver dnn_cnn.py --alpha 0.9 %*
