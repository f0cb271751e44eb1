// The tutorial's Refresh Token project (app.js), in its final shape: see README.md beside it.
import express from 'express';
import jwt from 'jsonwebtoken';
import cookieParser from 'cookie-parser';

const app = express();
// The tutorial listens on 3019; PORT lets the bench pick a free port.
const PORT = Number(process.env.PORT) || 3019;

// The tutorial's secrets, in code: it says a real service keeps them out of it (.env).
const ACCESS_TOKEN_SECRET_KEY = `HangHae99`; // the Access Token's secret
const REFRESH_TOKEN_SECRET_KEY = `Sparta`; // the Refresh Token's secret

app.use(express.json());
app.use(cookieParser());

app.get('/', (req, res) => {
  return res.status(200).send('Hello Token!');
});

// Refresh Tokens live in memory, as in the tutorial: a restart forgets every one.
let tokenStorage = {};

/** Issues an Access Token and a Refresh Token **/
app.post('/tokens', async (req, res) => {
  const { id } = req.body;
  const accessToken = createAccessToken(id);
  const refreshToken = jwt.sign({ id: id }, REFRESH_TOKEN_SECRET_KEY, { expiresIn: '1d' });

  tokenStorage[refreshToken] = {
    id: id, // the id the client sent
    ip: req.ip, // the client's IP
    userAgent: req.headers['user-agent'], // the client's User Agent
  };
  // The tutorial's console.log(tokenStorage) is left out: it prints the whole store, which
  // grows with every login, so under load it would measure printing rather than the routes.

  res.cookie('accessToken', accessToken); // the Access Token as a cookie
  res.cookie('refreshToken', refreshToken); // the Refresh Token as a cookie

  return res.status(200).json({ message: 'Token이 정상적으로 발급되었습니다.' });
});

/** Validates the Access Token **/
app.get('/tokens/validate', (req, res) => {
  const { accessToken } = req.cookies;

  if (!accessToken) {
    return res.status(400).json({ errorMessage: 'Access Token이 존재하지 않습니다.' });
  }

  const payload = validateToken(accessToken, ACCESS_TOKEN_SECRET_KEY);
  if (!payload) {
    return res.status(401).json({ errorMessage: 'Access Token이 유효하지 않습니다.' });
  }

  const { id } = payload;
  return res.status(200).json({
    message: `${id}의 Payload를 가진 Token이 성공적으로 인증되었습니다.`,
  });
});

/** Issues a new Access Token for a stored Refresh Token (which is never rotated) **/
app.post('/tokens/refresh', (req, res) => {
  const refreshToken = req.cookies.refreshToken;

  if (!refreshToken)
    return res
      .status(400)
      .json({ errorMessage: 'Refresh Token이 존재하지 않습니다.' });

  const payload = validateToken(refreshToken, REFRESH_TOKEN_SECRET_KEY);
  if (!payload) {
    return res
      .status(401)
      .json({ errorMessage: 'Refresh Token이 유효하지 않습니다.' });
  }

  const userInfo = tokenStorage[refreshToken];
  if (!userInfo)
    return res.status(419).json({
      errorMessage: 'Refresh Token의 정보가 서버에 존재하지 않습니다.',
    });

  const newAccessToken = createAccessToken(userInfo.id);

  res.cookie('accessToken', newAccessToken);
  return res.json({ message: 'Access Token을 새롭게 발급하였습니다.' });
});

// Verifies the token and returns its payload; null when it fails.
function validateToken(token, secretKey) {
  try {
    const payload = jwt.verify(token, secretKey);
    return payload;
  } catch (error) {
    return null;
  }
}

// The tutorial's refactoring: one function issues Access Tokens, valid for 10 minutes.
function createAccessToken(id) {
  return jwt.sign({ id }, ACCESS_TOKEN_SECRET_KEY, { expiresIn: '10m' });
}

app.listen(PORT, () => {
  console.log(PORT, '포트로 서버가 열렸어요!');
});
