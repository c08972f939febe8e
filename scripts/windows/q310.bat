@echo off
rem Q3.10: dnn_cnn_2.py --alpha 0.9 -> outputs\CNN2_lr0.001_m0.9_w0.0_d0.5.json
cd /d "%~dp0\..\.."
python -m harness.run_driver dnn_cnn_2.py --alpha 0.9 %*
