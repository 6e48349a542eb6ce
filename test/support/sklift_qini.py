"""scikit-uplift's Qini coefficient (sklift.metrics qini_curve, perfect_qini_curve and qini_auc_score with
negative_effect=True), as numpy code, on the seeded population of test/unit/learn-qini.test.ts: prints the
coefficient that test expects, then the hand-worked example's beside 19/72. Run: python3 test/support/sklift_qini.py
"""
import numpy as np
from sklearn.metrics import auc
import math
state=12345
def nxt():
    global state
    state=(state*48271)%2147483647
    return state/2147483647
n=40
t=[1 if nxt()<0.5 else 0 for _ in range(n)]
score=[math.floor(nxt()*10+0.5)/10 for _ in range(n)]
y=[1 if nxt()<0.2+0.4*t[i]*score[i] else 0 for i in range(n)]
def qini_curve(y_true, uplift, treatment):
    y_true, uplift, treatment = np.array(y_true), np.array(uplift), np.array(treatment)
    idx = np.argsort(uplift, kind="mergesort")[::-1]
    y_true=y_true[idx]; treatment=treatment[idx]; uplift=uplift[idx]
    yc=y_true.copy(); yc[treatment==1]=0
    yt=y_true.copy(); yt[treatment==0]=0
    d=np.where(np.diff(uplift))[0]
    th=np.r_[d, uplift.size-1]
    NT=np.cumsum(treatment)[th].astype(float); YT=np.cumsum(yt)[th].astype(float)
    N=th+1; NC=N-NT; YC=np.cumsum(yc)[th].astype(float)
    cv=YT-YC*np.divide(NT,NC,out=np.zeros_like(NT),where=NC!=0)
    if N.size==0 or cv[0]!=0 or N[0]!=0:
        N=np.r_[0,N]; cv=np.r_[0,cv]
    return N,cv
def qini_auc(y,u,t):
    y,u,t=np.array(y),np.array(u),np.array(t)
    xa,ya=qini_curve(y,u,t)
    xp,yp=qini_curve(y,y*t-y*(1-t),t)
    xb,yb=np.array([0,xp[-1]]),np.array([0,yp[-1]])
    b=auc(xb,yb)
    return (auc(xa,ya)-b)/(auc(xp,yp)-b)
print(repr(qini_auc(y,score,t)))
print(sum(t), sum(y), len(set(score)))
print(qini_auc([1,0,1,0,1,0,0,1],[.9,.8,.7,.6,.5,.4,.3,.2],[1,1,0,0,1,0,1,0]), 19/72)
