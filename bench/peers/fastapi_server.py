#!/usr/bin/python3
"""The Python peer of the inference benchmark: the same TorchScript model behind FastAPI + uvicorn
(Debian's python3-fastapi, python3-uvicorn, python3-torch), one request = one forward pass, the
way a typical Python model server is written.

run: C19AI_PEER_MODEL=/path/mlp.pt /usr/bin/python3 -m uvicorn fastapi_server:app --workers 2 --port P
"""
import os

import torch
from fastapi import FastAPI
from pydantic import BaseModel

torch.set_num_threads(1)
model = torch.jit.load(os.environ["C19AI_PEER_MODEL"]).eval()
app = FastAPI()


class Request(BaseModel):
    inputs: list


@app.post("/predict")
def predict(req: Request):
    with torch.inference_mode():
        out = model(torch.tensor(req.inputs, dtype=torch.float32))
    return {"outputs": out.tolist()}
